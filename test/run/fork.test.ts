import { describe, expect, it } from "vitest"
import { z } from "zod"
import { ForkError, fn, human, type JournalEntry, llm, memoryJournal, pipeline, route } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Draft = z.object({ title: z.string() })

/** draft (an llm with a schema) → review → publish, counting what the code steps did. */
const article = () => {
  const calls = { review: [] as string[], publish: 0 }
  const p = pipeline({ id: "article", input: z.object({ topic: z.string() }) })
    .step("draft", llm({ model: "fast", prompt: ({ input }) => `Title for ${input.topic}`, output: Draft }))
    .step(
      "review",
      fn(({ steps }) => {
        calls.review.push(steps.draft?.title ?? "")
        return `reviewed ${steps.draft?.title}`
      }),
    )
    .step(
      "publish",
      fn(({ steps, runId }) => {
        calls.publish += 1
        return `${steps.review} (${runId})`
      }),
    )
    .edges({ draft: "review", review: "publish", publish: "done" })
  return { p, calls }
}

const recorded = async () => {
  const journal = memoryJournal()
  const { p } = article()
  expect(await p.run({ topic: "owls" }, { journal, runId: "src", models: { fast: scriptedModel([{ object: { title: "Owls" } }]) } })).toMatchObject({
    status: "done",
  })
  return journal
}

describe("fork a run from any point", () => {
  it("copies the steps before the fork point, applies an edited output, runs the rest under a new id", async () => {
    const journal = await recorded()
    const before = await journal.read("src")
    const { p, calls } = article()
    const model = scriptedModel([])
    const forked = await p.fork("src", {
      journal,
      at: { step: "review" },
      edit: { outputs: { draft: { title: "Night owls" } } },
      runId: "f1",
      models: { fast: model },
    })
    expect(forked).toMatchObject({ status: "done", runId: "f1", output: "reviewed Night owls (f1)", steps: { draft: { title: "Night owls" } } })
    expect(model.calls).toHaveLength(0)
    expect(calls).toEqual({ review: ["Night owls"], publish: 1 })
    const entries = await journal.read("f1")
    const cut = before.findIndex((entry) => entry.type === "route.taken" && entry.to === "review")
    expect(entries[0]).toMatchObject({ type: "run.started", runId: "f1", input: { topic: "owls" }, forkedFrom: { runId: "src", seq: cut } })
    expect(entries.filter((entry) => entry.type === "step.started").map((entry) => (entry as { step: string }).step)).toEqual(["draft", "review", "publish"])
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(await journal.read("src")).toEqual(before)
  })

  it("forks at a seq, and with an edited input", async () => {
    const journal = await recorded()
    const { p } = article()
    const forked = await p.fork("src", { journal, at: 1, edit: { input: { topic: "bats" } }, models: { fast: scriptedModel([{ object: { title: "Bats" } }]) } })
    expect(forked).toMatchObject({ status: "done", output: expect.stringMatching(/^reviewed Bats \(/) })
    expect(forked.runId).not.toBe("src")
  })

  it("asks a human step at the fork point again, and applies an edited decision before it", async () => {
    const build = () =>
      pipeline({ id: "order", input: z.object({}) })
        .step("approve", human({ decision: z.object({ ok: z.boolean() }) }))
        .step(
          "ship",
          fn(({ steps }) => (steps.approve?.ok === true ? "shipped" : "held")),
        )
        .edges({ approve: "ship", ship: "done" })
    const journal = memoryJournal()
    await build().run({}, { journal, runId: "o1" })
    expect(await build().decide("o1", "approve", { ok: true }, { journal })).toMatchObject({ status: "done", output: "shipped" })

    expect(await build().fork("o1", { journal, at: { step: "approve" }, runId: "again" })).toMatchObject({ status: "awaiting-human", step: "approve" })
    expect(await build().fork("o1", { journal, at: { step: "ship" }, edit: { decisions: { approve: { ok: false } } } })).toMatchObject({
      status: "done",
      output: "held",
    })
  })
})

describe("fork refuses, naming the run, the step and the reason; the source is never changed", () => {
  const refusal = async (attempt: Promise<unknown>) =>
    attempt.then(
      () => undefined,
      (error: unknown) => error,
    )

  it("a point or a step that is not in the journal, an edit that fails the schema", async () => {
    const journal = await recorded()
    const before = await journal.read("src")
    const { p } = article()
    const bySeq = await refusal(p.fork("src", { journal, at: 99 }))
    expect(bySeq).toBeInstanceOf(ForkError)
    expect(bySeq).toMatchObject({
      reason: "unknown-point",
      runId: "src",
      message: `cannot fork run src: its journal has no seq 99 to fork at (seqs 1 to ${before.length - 1})`,
    })
    expect(await refusal(p.fork("src", { journal, at: { step: "review", visit: 2 } }))).toMatchObject({
      reason: "unknown-point",
      step: "review",
      message: 'cannot fork run src: step "review" has no visit 2 in its journal',
    })
    expect(await refusal(p.fork("src", { journal, at: { step: "draft" }, edit: { outputs: { review: "x" } } }))).toMatchObject({
      reason: "not-run",
      step: "review",
      message: 'cannot fork run src: step "review" did not finish before the fork point: there is no output to edit',
    })
    expect(await refusal(p.fork("src", { journal, at: { step: "review" }, edit: { outputs: { draft: { heading: "no" } } } }))).toMatchObject({
      reason: "invalid-edit",
      step: "draft",
      message: expect.stringContaining('the edited output of "draft" does not match its schema: title:'),
    })
    expect(await refusal(p.fork("src", { journal, at: 1, edit: { input: { topic: 7 } } }))).toMatchObject({ reason: "invalid-edit" })
    expect(await refusal(p.fork("nobody", { journal, at: 1 }))).toMatchObject({ reason: "unknown-run", runId: "nobody" })
    expect(await journal.read("src")).toEqual(before)
    // Nothing was written for a refused fork: only the source is in the journal.
    expect(journal.runIds()).toEqual(["src"])
  })

  it("an edited output whose route now goes elsewhere while later steps are copied", async () => {
    const build = () =>
      pipeline({ id: "routed", input: z.object({}) })
        .step(
          "pick",
          fn(() => "a"),
        )
        .step(
          "a",
          fn(() => "did a"),
        )
        .step(
          "b",
          fn(() => "did b"),
        )
        .step(
          "end",
          fn(({ steps }) => steps.a ?? steps.b),
        )
        .edges({ pick: route(["a", "b"], ({ output }) => (output === "a" ? "a" : "b")), a: "end", b: "end", end: "done" })
    const journal = memoryJournal()
    expect(await build().run({}, { journal, runId: "r" })).toMatchObject({ status: "done", output: "did a" })
    const entries: readonly JournalEntry[] = await journal.read("r")
    expect(entries.length).toBeGreaterThan(3)
    expect(await refusal(build().fork("r", { journal, at: { step: "end" }, edit: { outputs: { pick: "b" } } }))).toMatchObject({
      reason: "invalid-edit",
      step: "pick",
    })
    // Forking right after the edited step follows the new route.
    expect(await build().fork("r", { journal, at: { step: "a" }, edit: { outputs: { pick: "b" } } })).toMatchObject({ status: "done", output: "did b" })
  })
})
