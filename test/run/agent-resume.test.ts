import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, fn, type Journal, type JournalEntry, maxSteps, memoryJournal, pipeline, sqliteJournal, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

/** A journal holding only the first entries of another run's journal: the state a crash leaves. */
const crashedAt = async (source: Journal, runId: string, keep: number): Promise<Journal> => {
  const journal = memoryJournal()
  for (const entry of (await source.read(runId)).slice(0, keep)) await journal.append(entry)
  return journal
}

const makeResearch = () => {
  const ran: string[] = []
  const fetchPage = tool({
    name: "fetchPage",
    input: z.object({ url: z.string() }),
    run: ({ url }, { idempotencyKey }) => (ran.push(`${url} ${idempotencyKey}`), `contents of ${url}`),
  })
  const research = pipeline({ id: "research", input: z.object({ topic: z.string() }) })
    .step("gather", agent({ model: "smart", prompt: ({ input }) => input.topic, tools: { fetchPage }, stop: [maxSteps(5)] }))
    .step(
      "publish",
      fn(({ steps }) => `published: ${steps.gather}`),
    )
    .edges({ gather: "publish", publish: "done" })
  return { research, ran }
}

const replies = [
  {
    toolCalls: [
      { id: "a", name: "fetchPage", arguments: { url: "u1" } },
      { id: "b", name: "fetchPage", arguments: { url: "u2" } },
    ],
    usage: { inputTokens: 10, outputTokens: 1 },
  },
  { toolCalls: [{ id: "c", name: "fetchPage", arguments: { url: "u3" } }], usage: { inputTokens: 20, outputTokens: 2 } },
  { text: "report from 3 pages", usage: { inputTokens: 30, outputTokens: 3 } },
] as const

describe("resume after a crash mid-agent", () => {
  it("replays finished turns and tool calls from the journal and runs only what was in flight", async () => {
    const original = makeResearch()
    const journal = memoryJournal()
    const full = await original.research.run({ topic: "t" }, { models: { smart: scriptedModel([...replies]) }, journal, runId: "r" })
    expect(full).toMatchObject({ status: "done", output: "published: report from 3 pages" })
    const entries = await journal.read("r")
    // Crash after the first tool call of the first batch was journaled, before the second finished.
    const firstCall = entries.findIndex((entry) => entry.type === "tool.called")
    const crashed = await crashedAt(journal, "r", firstCall + 1)
    const finished = (entries[firstCall] as Extract<JournalEntry, { type: "tool.called" }>).callId

    const again = makeResearch()
    const model = scriptedModel([replies[1], replies[2]])
    const resumed = await again.research.resume("r", { journal: crashed, models: { smart: model } })
    expect(resumed).toMatchObject({ status: "done", output: "published: report from 3 pages" })
    // Turn 1 came from the journal: the model was asked only for turns 2 and 3.
    expect(model.calls).toHaveLength(2)
    // The finished call is not run again; the one in flight runs with the same idempotency key.
    const unfinished = finished === "a" ? "u2 r:gather:1:1:b" : "u1 r:gather:1:1:a"
    expect(again.ran).toEqual([unfinished, "u3 r:gather:1:2:c"])
    expect(resumed.usage).toMatchObject({ inputTokens: 60, outputTokens: 6 })
    const after = await crashed.read("r")
    expect(after.filter((entry) => entry.type === "agent.turned").map((entry) => (entry as { turn: number }).turn)).toEqual([1, 2, 3])
    expect(after.filter((entry) => entry.type === "tool.called")).toHaveLength(3)
    // Every model call is in the journal once, each with its turn: new turns are not mistaken for replayed ones.
    expect(after.filter((entry) => entry.type === "model.called").map((entry) => (entry as { turn?: number }).turn)).toEqual([1, 2, 3])
    expect(after.filter((entry) => entry.type === "step.started" && entry.step === "gather")).toHaveLength(1)
  })

  it("resumes after the agent finished without asking the model again", async () => {
    const original = makeResearch()
    const journal = memoryJournal()
    await original.research.run({ topic: "t" }, { models: { smart: scriptedModel([...replies]) }, journal, runId: "r2" })
    const entries = await journal.read("r2")
    const crashed = await crashedAt(journal, "r2", entries.findIndex((entry) => entry.type === "step.finished" && entry.step === "gather") + 1)
    const again = makeResearch()
    const model = scriptedModel([])
    const resumed = await again.research.resume("r2", { journal: crashed, models: { smart: model } })
    expect(resumed).toMatchObject({ status: "done", output: "published: report from 3 pages", usage: { inputTokens: 60, calls: 3 } })
    expect(model.calls).toHaveLength(0)
    expect(again.ran).toEqual([])
  })

  it("pauses on an approval in a SQLite journal and continues in a fresh process-like run, replaying the turn", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-agent-"))
    const path = join(folder, "runs.db")
    try {
      const paid: string[] = []
      const pay = tool({
        name: "pay",
        input: z.object({ amount: z.number() }),
        approval: true,
        run: ({ amount }, { idempotencyKey }) => (paid.push(`${amount} ${idempotencyKey}`), "paid"),
      })
      const build = () =>
        pipeline({ id: "payments", input: z.object({}) })
          .step("payer", agent({ model: "smart", prompt: () => "pay 5", tools: { pay }, stop: [maxSteps(3)] }))
          .edges({ payer: "done" })
      const first = sqliteJournal({ path })
      const paused = await build().run(
        {},
        { journal: first, runId: "s1", models: { smart: scriptedModel([{ toolCalls: [{ id: "x", name: "pay", arguments: { amount: 5 } }] }]) } },
      )
      expect(paused).toMatchObject({ status: "awaiting-human", step: "payer" })
      first.close()
      const second = sqliteJournal({ path })
      const model = scriptedModel(["paid 5"])
      const done = await build().decide("s1", "payer", { action: "approve" }, { journal: second, models: { smart: model } })
      expect(done).toMatchObject({ status: "done", output: "paid 5" })
      expect(paid).toEqual(["5 s1:payer:1:1:x"])
      expect(model.calls).toHaveLength(1)
      second.close()
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  })
})
