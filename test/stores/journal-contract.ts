// The behaviour every journal shares, run by each store's test file against its own implementation.
import { expect, it } from "vitest"
import { z } from "zod"
import { fn, human, type Journal, JournalConflictError, type JournalEntry, llm, pipeline, type RunSummary, route } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

/** A journal that outlives its instance: it lists its runs and must be closed (closing twice is allowed). */
export interface DurableJournal extends Journal {
  runs(): readonly RunSummary[] | Promise<readonly RunSummary[]>
  close(): void | Promise<void>
}

export const started = (runId: string, seq = 0): JournalEntry => ({
  seq,
  type: "run.started",
  runId,
  pipeline: "p",
  input: { ticket: "hi", nested: [1, { a: null }] },
  at: 1000,
})
export const stepStarted = (runId: string, seq: number, step = "classify"): JournalEntry => ({
  seq,
  type: "step.started",
  runId,
  step,
  visit: 1,
  at: 1000 + seq,
})

// Sync journals throw, async ones reject: both become a rejection here.
const attempt = async (write: () => void | Promise<void>) => write()

/** Every {@link Journal}: `open()` gives a fresh, empty one. */
export const journalContract = (open: () => Journal) => {
  it("reads back a run's entries in seq order, separately per run", async () => {
    const journal = open()
    await journal.append(started("r1"))
    await journal.append(started("r2"))
    await journal.append(stepStarted("r1", 1))
    await journal.append(stepStarted("r1", 2, "answer"))
    expect(await journal.read("r1")).toEqual([started("r1"), stepStarted("r1", 1), stepStarted("r1", 2, "answer")])
    expect(await journal.read("r2")).toEqual([started("r2")])
    expect(await journal.read("unknown")).toEqual([])
  })

  it("rejects a seq gap and a repeated seq, keeping what was written", async () => {
    const journal = open()
    await journal.append(started("r1"))
    await expect(attempt(() => journal.append(stepStarted("r1", 2)))).rejects.toThrow(/run r1: expected seq 1, got 2/)
    await expect(attempt(() => journal.append(stepStarted("r1", 0)))).rejects.toThrow(JournalConflictError)
    await expect(attempt(() => journal.append(stepStarted("r1", 0)))).rejects.toThrow(/run r1: seq 0 is already written/)
    await expect(attempt(() => journal.append(stepStarted("r2", 1)))).rejects.toThrow(/run r2: expected seq 0, got 1/)
    expect(await journal.read("r1")).toEqual([started("r1")])
  })

  it("appends a batch all or nothing, where the journal writes batches", async ({ skip }) => {
    const journal = open()
    if (journal.appendMany === undefined) return skip("this journal writes one event at a time")
    await journal.appendMany([started("r1"), stepStarted("r1", 1), stepStarted("r1", 2, "answer")])
    expect(await journal.read("r1")).toEqual([started("r1"), stepStarted("r1", 1), stepStarted("r1", 2, "answer")])
    // The batch starts at a taken seq: its second entry, though free, is not kept either.
    await expect(journal.appendMany([stepStarted("r1", 2), stepStarted("r1", 3)])).rejects.toThrow(JournalConflictError)
    await expect(journal.appendMany([stepStarted("r1", 4), stepStarted("r1", 5)])).rejects.toThrow(/run r1: expected seq 3, got 4/)
    await expect(journal.appendMany([stepStarted("r1", 3), stepStarted("r1", 5)])).rejects.toThrow(/consecutive events of one run/)
    expect((await journal.read("r1")).map((entry) => entry.seq)).toEqual([0, 1, 2])
  })

  it("gives back entries and snapshots exactly as written: key order, NUL and lone surrogate characters", async () => {
    const journal = open()
    const output = { summary: "a\u0000b \ud800", kind: "bug", confidence: 0.5, tags: [], extra: null }
    await journal.append({ seq: 0, type: "step.finished", runId: "r1", step: "classify", visit: 1, output, next: "done", attempts: 1, durationMs: 3, at: 5 })
    await journal.saveSnapshot("r1", { value: "done", context: { steps: { classify: output } } })
    const [entry] = await journal.read("r1")
    // A resumed run hands these outputs to prompts: reordered keys would change what a model sees.
    expect(JSON.stringify(entry?.type === "step.finished" ? entry.output : undefined)).toBe(JSON.stringify(output))
    expect(JSON.stringify(await journal.loadSnapshot("r1"))).toBe(JSON.stringify({ value: "done", context: { steps: { classify: output } } }))
  })

  it("round-trips a snapshot, and has none for an unknown run", async () => {
    const journal = open()
    const snapshot = { status: "active", value: "review", context: { steps: { classify: { kind: "bug" } }, visits: { classify: 1 } } }
    await journal.saveSnapshot("r1", snapshot)
    snapshot.context.visits.classify = 99
    expect(await journal.loadSnapshot("r1")).toEqual({ ...snapshot, context: { ...snapshot.context, visits: { classify: 1 } } })
    await journal.saveSnapshot("r1", { value: "done" })
    expect(await journal.loadSnapshot("r1")).toEqual({ value: "done" })
    expect(await journal.loadSnapshot("unknown")).toBeUndefined()
  })
}

const Review = z.object({ approve: z.boolean(), note: z.string() })
const publishing = pipeline({ id: "publishing", input: z.object({ topic: z.string() }) })
  .step("draft", llm({ model: "writer", prompt: ({ input }) => `Write about ${input.topic}` }))
  .step("review", human({ decision: Review, timeout: "24h", prompt: ({ steps }) => `Approve "${steps.draft}"?` }))
  .step(
    "publish",
    fn(({ steps }) => `published: ${steps.draft} (${steps.review?.note})`),
  )
  .edges({
    draft: "review",
    review: { next: route(["publish", "done"], ({ output }) => (output.approve ? "publish" : "done")), timeout: "done" },
    publish: "done",
  })

/**
 * Every {@link DurableJournal}: `freshStore()` makes a new empty store and returns how to open a
 * journal on it; each call opens a new instance (the caller closes them after each test).
 */
export const durableJournalContract = (freshStore: () => () => DurableJournal) => {
  it("keeps entries and snapshots after the journal is closed and reopened, and continues the seq", async () => {
    const open = freshStore()
    const first = open()
    await first.append(started("r1"))
    await first.append(stepStarted("r1", 1))
    await first.saveSnapshot("r1", { value: "classify" })
    await first.close()

    const second = open()
    expect(await second.read("r1")).toEqual([started("r1"), stepStarted("r1", 1)])
    expect(await second.loadSnapshot("r1")).toEqual({ value: "classify" })
    await expect(attempt(() => second.append(stepStarted("r1", 1)))).rejects.toThrow(/seq 1 is already written \(next is 2\)/)
    await second.append(stepStarted("r1", 2))
    expect((await second.read("r1")).map((entry) => entry.seq)).toEqual([0, 1, 2])
  })

  it("lists runs with the status their lifecycle events give them", async () => {
    const journal = freshStore()()
    await journal.append({ seq: 0, type: "run.started", runId: "waits", pipeline: "triage", input: {}, at: 10 })
    await journal.append({ seq: 1, type: "human.waiting", runId: "waits", step: "review", visit: 1, at: 20 })
    await journal.append({ seq: 0, type: "run.started", runId: "ends", pipeline: "triage", input: {}, at: 30 })
    await journal.append({ seq: 1, type: "run.finished", runId: "ends", status: "stopped", durationMs: 5, at: 40 })
    await journal.append({ seq: 0, type: "run.started", runId: "runs", pipeline: "other", input: {}, at: 50 })
    expect(await journal.runs()).toEqual([
      { runId: "runs", pipeline: "other", status: "running", updatedAt: 50 },
      { runId: "ends", pipeline: "triage", status: "stopped", updatedAt: 40 },
      { runId: "waits", pipeline: "triage", status: "awaiting-human", updatedAt: 20 },
    ])
  })

  it("refuses an event that is not JSON, naming the run and seq", async () => {
    const journal = freshStore()()
    await expect(attempt(() => journal.append({ seq: 0, type: "run.started", runId: "r1", pipeline: "p", input: { big: 1n }, at: 1 }))).rejects.toThrow(
      /run r1: event 0 \(run.started\) is not JSON/,
    )
    expect(await journal.read("r1")).toEqual([])
  })

  it("finishes a run paused on a human step from a new journal instance, with the whole history in seq order", async () => {
    const open = freshStore()
    const first = open()
    const paused = await publishing.run({ topic: "tides" }, { models: { writer: scriptedModel(["Tides rise."]) }, journal: first })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review", prompt: 'Approve "Tides rise."?' })
    expect(await first.runs()).toEqual([expect.objectContaining({ runId: paused.runId, pipeline: "publishing", status: "awaiting-human" })])
    await first.close()

    const second = open()
    const result = await publishing.decide(paused.runId, "review", { approve: true, note: "lovely" }, { journal: second })
    expect(result).toMatchObject({ status: "done", step: "publish", output: "published: Tides rise. (lovely)" })

    const history = await second.read(paused.runId)
    expect(history.map((entry) => entry.seq)).toEqual(history.map((_, index) => index))
    const types = history.map((entry) => (entry.type === "step.started" || entry.type === "step.finished" ? `${entry.type} ${entry.step}` : entry.type))
    expect(types.filter((type) => type !== "route.taken")).toEqual([
      "run.started",
      "step.started draft",
      "model.called",
      "step.finished draft",
      "human.waiting",
      "human.decided",
      "step.started publish",
      "step.finished publish",
      "run.finished",
    ])
    expect(history.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
    expect(await second.runs()).toEqual([expect.objectContaining({ runId: paused.runId, status: "done" })])
  })
}
