// The README's "Diagnosing a failed run", followed step by step with the real CLI: a run fails on
// an invalid model answer, `show --full` says why, the schema is fixed, `retry` runs the failed step only.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { sqliteJournal } from "../../src/index.ts"
import { cli, removeTemporaryFolders, root, temporaryFolder } from "./run-cli.ts"

afterEach(() => removeTemporaryFolders())

const from = (path: string) => JSON.stringify(pathToFileURL(join(root, path)).href)

// A support pipeline whose model answers "billing"; `kinds` is the schema's list of kinds.
const supportFile = (kinds: readonly string[], log: string) => `
import { appendFileSync } from "node:fs"
import { z } from ${from("node_modules/zod/index.js")}
import { fn, llm, pipeline } from ${from("src/index.ts")}
import { scriptedModel } from ${from("src/testing/index.ts")}

export const support = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
  .step("lookup", fn(({ input }) => {
    appendFileSync(${JSON.stringify(log)}, "lookup\\n")
    return { customer: "c-7", ticket: input.ticket }
  }))
  .step("classify", llm({ model: "fast", prompt: ({ steps }) => "Classify: " + steps.lookup?.ticket, output: z.object({ kind: z.enum(${JSON.stringify(kinds)}) }) }))
  .step("answer", fn(({ steps }) => "routed to " + steps.classify?.kind))
  .edges({ lookup: "classify", classify: "answer", answer: "done" })

export const scriptedModels = () => ({ fast: scriptedModel([{ object: { kind: "billing" } }], { repeat: true }) })
`

describe("switchboard retry (Diagnosing a failed run)", () => {
  it("fails on invalid output, shows why, and after the fix runs only the failed step again", { timeout: 60_000 }, async () => {
    const folder = temporaryFolder()
    const file = join(folder, "support.mts")
    const log = join(folder, "lookups.log")
    const journal = `sqlite:${join(folder, "runs.db")}`
    writeFileSync(file, supportFile(["refund", "bug"], log))

    const run = await cli("run", file, "--input", '{"ticket":"I was charged twice"}', "--journal", journal, "--json")
    expect(run.code).toBe(1)
    const failed = JSON.parse(run.stdout) as { runId: string; status: string; error: { _tag: string; reason: string; step: string } }
    expect(failed).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "invalid-output", step: "classify" } })
    const runId = failed.runId

    // 1. show --full prints the repairs with the schema's issues, and the raw answer.
    const shown = await cli("show", runId, "--journal", journal, "--full")
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain("repair")
    expect(shown.stdout).toContain("billing")

    // What the README said to do before: resume refuses a failed run, and names retry.
    const resumed = await cli("resume", file, runId, "--journal", journal)
    expect(resumed.code).toBe(2)
    expect(resumed.stderr).toContain(`cannot resume run ${runId}: it has already finished, failed (retry it to run the failed step again)`)

    // 2. Fix the schema.
    writeFileSync(file, supportFile(["refund", "bug", "billing"], log))

    // 3. retry: lookup comes from the journal, classify runs again, the run ends done.
    const retried = await cli("retry", file, runId, "--journal", journal)
    expect(retried.stderr).toBe("")
    expect(retried.code).toBe(0)
    const lines = retried.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe(`↻ support (run ${runId}) retries from the step that failed`)
    expect(lines.some((line) => /^✓ lookup\b/.test(line))).toBe(false)
    expect(lines.slice(1)).toEqual([
      "→ classify",
      expect.stringMatching(/^✓ classify \d+ms, 0\+0 tokens$/),
      "  classify ⇒ answer",
      "→ answer",
      expect.stringMatching(/^✓ answer \d+ms$/),
      "  answer ⇒ done",
      expect.stringMatching(/^■ done in \d+ms$/),
      "done: output of answer",
      "routed to billing",
    ])
    expect(existsSync(log) ? readFileSync(log, "utf8") : "").toBe("lookup\n")

    const database = sqliteJournal({ path: join(folder, "runs.db") })
    const entries = await database.read(runId)
    expect(database.runs()).toEqual([expect.objectContaining({ runId, status: "done" })])
    database.close()
    expect(entries.filter((entry) => entry.type === "step.started").map((entry) => entry.type === "step.started" && entry.step)).toEqual([
      "lookup",
      "classify",
      "classify",
      "answer",
    ])

    // show keeps both attempts of classify, the retry between them.
    const timeline = (await cli("show", runId, "--journal", journal)).stdout.split("\n")
    const failure = timeline.findIndex((line) => line.includes("✗ ModelError (invalid-output)"))
    expect(failure).toBeGreaterThan(0)
    expect(timeline[failure + 1]).toMatch(/^ {11}↻ retry 1 at \+[\d.]+m?s: the visit runs again$/)

    // A done run is not retried: exit 2, the journal unchanged.
    const again = await cli("retry", file, runId, "--journal", journal)
    expect(again.code).toBe(2)
    expect(again.stderr).toBe(`switchboard: cannot retry run ${runId}: it finished done: there is nothing to retry\n`)
    const after = sqliteJournal({ path: join(folder, "runs.db") })
    expect(await after.read(runId)).toHaveLength(entries.length)
    after.close()
  })
})

describe("switchboard fork", () => {
  it("starts a new run from a recorded one with an edited output, and show names the source", { timeout: 60_000 }, async () => {
    const folder = temporaryFolder()
    const file = join(folder, "support.mts")
    const log = join(folder, "lookups.log")
    const journal = `sqlite:${join(folder, "runs.db")}`
    writeFileSync(file, supportFile(["refund", "bug", "billing"], log))
    const run = await cli("run", file, "--input", '{"ticket":"I was charged twice"}', "--journal", journal, "--json")
    expect(run.code).toBe(0)
    const source = (JSON.parse(run.stdout) as { runId: string }).runId

    const forked = await cli("fork", file, source, "--journal", journal, "--at", "answer", "--edit-output", 'classify={"kind":"refund"}')
    expect(forked.stderr).toBe("")
    expect(forked.code).toBe(0)
    const lines = forked.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe(`⑂ support (run ${source}) forks at answer#1`)
    expect(lines.slice(-2)).toEqual(["done: output of answer", "routed to refund"])
    const newId = /^ {2}new run (\S+)$/.exec(lines.find((line) => line.startsWith("  new run ")) ?? "")?.[1] ?? ""
    expect(newId).not.toBe("")
    expect(newId).not.toBe(source)
    // Only answer ran: lookup and classify were copied.
    expect(readFileSync(log, "utf8")).toBe("lookup\n")
    const shown = await cli("show", newId, "--journal", journal)
    expect(shown.stdout.split("\n")[0]).toMatch(new RegExp(`^run ${newId} · support · done .* · forked from ${source} at seq \\d+$`))

    const bad = await cli("fork", file, source, "--journal", journal, "--at", "answer", "--edit-output", 'classify={"kind":"nope"}')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain(`switchboard: cannot fork run ${source}: the edited output of "classify" does not match its schema`)
  })
})
