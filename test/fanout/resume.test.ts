import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { callTool, fn, type Journal, type JournalEntry, llm, map, memoryJournal, parallel, pipeline, sqliteJournal, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const folders: string[] = []
const closers: Array<() => void> = []
const openSqlite = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-fanout-"))
  folders.push(folder)
  const journal = sqliteJournal({ path: join(folder, "runs.db") })
  closers.push(journal.close)
  return journal
}

afterEach(() => {
  for (const close of closers.splice(0)) close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** A fresh SQLite journal holding only the entries a crash at `keep(entries)` would have left. */
const crashedCopy = async (source: Journal, runId: string, keep: (entries: readonly JournalEntry[]) => number): Promise<Journal> => {
  const entries = await source.read(runId)
  const journal = openSqlite()
  for (const entry of entries.slice(0, keep(entries))) await journal.append(entry)
  return journal
}
const afterNth = (count: number, predicate: (entry: JournalEntry) => boolean) => (entries: readonly JournalEntry[]) => {
  let seen = 0
  return entries.findIndex((entry) => predicate(entry) && ++seen === count) + 1
}
const isItemFinished = (entry: JournalEntry) => entry.type === "step.finished" && /^charges\[\d+\]$/.test(entry.step)

/** A map whose item is a payment tool: every call is recorded with its idempotency key. */
const makeBatch = () => {
  const keys: string[] = []
  const charge = tool({
    name: "charge",
    input: z.object({ amount: z.number() }),
    idempotent: true,
    run: async ({ amount }, { idempotencyKey }) => {
      keys.push(idempotencyKey)
      return `receipt-${amount}`
    },
  })
  const state = { extra: [] as number[] }
  const batch = pipeline({ id: "batch", input: z.object({ amounts: z.array(z.number()) }) })
    .step(
      "charges",
      map({
        over: ({ input }) => [...input.amounts, ...state.extra],
        each: callTool(charge, ({ input }: { input: number }) => ({ amount: input })),
        concurrency: 1,
      }),
    )
    .step(
      "total",
      fn(({ steps }) => steps.charges?.join(",")),
    )
    .edges({ charges: "total", total: "done" })
  return { batch, keys, state }
}

describe("resume of fan-out steps", () => {
  it("a map that crashed mid-list resumes without re-running finished items (SQLite)", async () => {
    const first = makeBatch()
    const journal = openSqlite()
    const full = await first.batch.run({ amounts: [1, 2, 3, 4, 5] }, { journal, runId: "b1" })
    expect(full).toMatchObject({ status: "done", output: "receipt-1,receipt-2,receipt-3,receipt-4,receipt-5" })
    expect(first.keys).toEqual(["b1:charges[0]:1", "b1:charges[1]:1", "b1:charges[2]:1", "b1:charges[3]:1", "b1:charges[4]:1"])

    // The process died right after the third item was journaled as finished.
    const crashed = await crashedCopy(journal, "b1", afterNth(3, isItemFinished))
    const second = makeBatch()
    const resumed = await second.batch.resume("b1", { journal: crashed })
    expect(resumed).toMatchObject({ status: "done", output: "receipt-1,receipt-2,receipt-3,receipt-4,receipt-5" })
    expect(second.keys).toEqual(["b1:charges[3]:1", "b1:charges[4]:1"])
    // The resumed journal reads like one uninterrupted run: nothing was written twice.
    const entries = await crashed.read("b1")
    expect(entries.filter((entry) => entry.type === "map.listed")).toHaveLength(1)
    expect(entries.filter(isItemFinished).map((entry) => entry.type === "step.finished" && entry.step)).toEqual([
      "charges[0]",
      "charges[1]",
      "charges[2]",
      "charges[3]",
      "charges[4]",
    ])
  })

  it("re-runs the item that was in flight with the same idempotency key", async () => {
    const first = makeBatch()
    const journal = memoryJournal()
    await first.batch.run({ amounts: [1, 2, 3] }, { journal, runId: "b2" })
    // Crash after the second item started but before it finished.
    const crashed = await crashedCopy(
      journal,
      "b2",
      afterNth(2, (entry) => entry.type === "step.started" && /^charges\[\d+\]$/.test(entry.step)),
    )
    const second = makeBatch()
    expect(await second.batch.resume("b2", { journal: crashed })).toMatchObject({ status: "done" })
    expect(second.keys).toEqual(["b2:charges[1]:1", "b2:charges[2]:1"])
  })

  it("fails with a clear error when the list recomputed on resume differs from the journaled one", async () => {
    const first = makeBatch()
    const journal = memoryJournal()
    await first.batch.run({ amounts: [1, 2, 3] }, { journal, runId: "b3" })
    const crashed = await crashedCopy(journal, "b3", afterNth(1, isItemFinished))
    const second = makeBatch()
    second.state.extra = [99]
    const resumed = await second.batch.resume("b3", { journal: crashed })
    expect(resumed).toMatchObject({ status: "failed", error: { _tag: "FanoutError", step: "charges", reason: "items-changed" } })
    if (resumed.status === "failed") expect(resumed.error.message).toMatch(/on resume over\(\) returned 4 items .* but the run journaled 3/)
    expect(second.keys).toEqual([])
  })

  it("a parallel step resumes only the branches that had not finished", async () => {
    const calls: string[] = []
    const build = () =>
      pipeline({ id: "fields", input: z.object({ text: z.string() }) })
        .step(
          "extract",
          parallel({
            branches: {
              words: fn(({ input }) => (calls.push("words"), input.text.split(" ").length)),
              title: llm({ model: "fast", prompt: ({ input }) => `Title: ${input.text}` }),
            },
          }),
        )
        .edges({ extract: "done" })
    const journal = memoryJournal()
    await build().run({ text: "a b c" }, { journal, runId: "f1", models: { fast: scriptedModel(["A title"]) } })
    const crashed = await crashedCopy(
      journal,
      "f1",
      afterNth(1, (entry) => entry.type === "step.finished" && entry.step === "extract.words"),
    )
    const titles = crashed === undefined ? [] : (await crashed.read("f1")).filter((entry) => entry.type === "step.finished" && entry.step === "extract.title")
    expect(titles).toHaveLength(0)
    calls.length = 0
    const model = scriptedModel(["A title"])
    const resumed = await build().resume("f1", { journal: crashed, models: { fast: model } })
    expect(resumed).toMatchObject({ status: "done", output: { words: 3, title: "A title" } })
    expect(calls).toEqual([])
    expect(model.calls).toHaveLength(1)
    // The step's start (journaled by the parallel state's entry) is not written a second time.
    expect((await crashed.read("f1")).filter((entry) => entry.type === "step.started" && entry.step === "extract")).toHaveLength(1)
  })

  it("a nested pipeline resumes after its last finished step", async () => {
    const counts = { prepare: 0 }
    const child = pipeline({ id: "child", input: z.object({ text: z.string() }) })
      .step(
        "prepare",
        fn(({ input }) => (counts.prepare++, input.text.toUpperCase())),
      )
      .step("say", llm({ model: "fast", prompt: ({ steps }) => `Say ${steps.prepare}` }))
      .edges({ prepare: "say", say: "done" })
    const build = () =>
      pipeline({ id: "parent", input: z.object({ texts: z.array(z.string()) }) })
        .step("all", map({ over: ({ input }) => input.texts.map((text) => ({ text })), each: child, concurrency: 1 }))
        .edges({ all: "done" })
    const journal = memoryJournal()
    await build().run({ texts: ["a", "b"] }, { journal, runId: "n1", models: { fast: scriptedModel(["said A", "said B"]) } })
    expect(counts.prepare).toBe(2)
    // Crash inside item 1's child run, after its "prepare" step finished.
    const crashed = await crashedCopy(
      journal,
      "n1",
      afterNth(1, (entry) => entry.type === "step.finished" && entry.step === "all[1].prepare"),
    )
    counts.prepare = 0
    const model = scriptedModel(["said B"])
    const resumed = await build().resume("n1", { journal: crashed, models: { fast: model } })
    expect(resumed).toMatchObject({ status: "done", output: ["said A", "said B"] })
    expect(counts.prepare).toBe(0)
    expect(model.calls.map((call) => call.request.messages.at(-1)?.content)).toEqual(["Say B"])
  })
})
