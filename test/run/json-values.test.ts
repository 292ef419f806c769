import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import {
  callTool,
  DecisionError,
  fn,
  human,
  type Journal,
  type JournalEntry,
  llm,
  memoryJournal,
  parallel,
  pipeline,
  type RunError,
  sqliteJournal,
  tool,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const folders: string[] = []
const closers: Array<() => void> = []
const sqliteFile = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-json-"))
  folders.push(folder)
  const journal = sqliteJournal({ path: join(folder, "runs.db") })
  closers.push(journal.close)
  return journal
}
afterEach(() => {
  for (const close of closers.splice(0)) close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

// Where a run's events go: every journal refuses the same values, so a test passes only if production would.
const journals: ReadonlyArray<readonly [string, () => Journal | undefined]> = [
  ["memoryJournal", () => memoryJournal()],
  ["sqliteJournal", sqliteFile],
  ["the default journal", () => undefined],
]

class Money {
  readonly cents: number
  constructor(cents: number) {
    this.cents = cents
  }
}
const cyclic = () => {
  const node: Record<string, unknown> = { id: 2 }
  node["createdAt"] = { parent: node }
  return node
}

// [name, the offending value, the path under steps.fetch.output, what the message says]
const nonJson: ReadonlyArray<readonly [string, () => Record<string, unknown>, string, string]> = [
  ["a Date", () => ({ id: 2, createdAt: new Date(0) }), "items[1].createdAt", "a Date is not a JSON value; return date.toISOString()"],
  ["a Map", () => ({ id: 2, createdAt: new Map([["a", 1]]) }), "items[1].createdAt", "a Map is not a JSON value"],
  ["a Set", () => ({ id: 2, createdAt: new Set([1]) }), "items[1].createdAt", "a Set is not a JSON value"],
  ["NaN", () => ({ id: 2, createdAt: Number.NaN }), "items[1].createdAt", "NaN is not a JSON value"],
  ["Infinity", () => ({ id: 2, createdAt: Number.POSITIVE_INFINITY }), "items[1].createdAt", "Infinity is not a JSON value"],
  ["a BigInt", () => ({ id: 2, createdAt: 10n }), "items[1].createdAt", "a BigInt is not a JSON value"],
  ["a cycle", cyclic, "items[1].createdAt.parent", "a cycle"],
  ["undefined in an array", () => ({ id: 2, createdAt: [undefined] }), "items[1].createdAt[0]", "undefined in an array is not a JSON value"],
  ["a class instance", () => ({ id: 2, createdAt: new Money(5) }), "items[1].createdAt", "a Money instance is not a JSON value"],
  ["a function", () => ({ id: 2, createdAt: () => 1 }), "items[1].createdAt", "a function is not a JSON value"],
]

const fetching = (item: () => Record<string, unknown>, calls: { count: number }) =>
  pipeline({ id: "fetching", input: z.object({}) })
    .step(
      "fetch",
      // Retries are allowed: a value that is not JSON is refused once, not retried.
      fn(
        () => {
          calls.count += 1
          return { items: [{ id: 1 }, item()] }
        },
        { policy: { retry: { attempts: 3, initialDelay: "1ms", jitter: false } } },
      ),
    )
    .step(
      "recover",
      fn(() => "recovered"),
    )
    .edges({ fetch: { next: "done", error: "recover" }, recover: "done" })

describe.each(journals)("step outputs that are not JSON values, on %s", (_journalName, open) => {
  it.each(nonJson)("refuses %s when the step finishes, naming the step and the JSON path; its error edge applies", async (_name, item, path, says) => {
    const calls = { count: 0 }
    const journal = open()
    const result = await fetching(item, calls).run({}, { runId: "j1", ...(journal === undefined ? {} : { journal }) })
    expect(result).toMatchObject({ status: "done", output: "recovered" })
    expect(calls.count).toBe(1)
    if (journal === undefined) return
    const failed = (await journal.read("j1")).find((entry) => entry.type === "step.failed")
    const error = failed?.type === "step.failed" ? failed.error : undefined
    expect(error).toMatchObject({ _tag: "StepCodeError", step: "fetch", retryable: false })
    expect(error?.message).toBe(`steps.fetch.output.${path}: ${error?.message.split(": ").slice(1).join(": ")}`)
    expect(error?.message).toContain(says)
    // Nothing that would be read back changed was journaled as the step's output.
    expect((await journal.read("j1")).some((entry) => entry.type === "step.finished" && entry.step === "fetch")).toBe(false)
  })

  it("fails the run with the typed error when the step has no error edge", async () => {
    const journal = open()
    const dated = pipeline({ id: "dated", input: z.object({}) })
      .step(
        "stamp",
        fn(() => new Date(0)),
      )
      .edges({ stamp: "done" })
    const result = await dated.run({}, journal === undefined ? {} : { journal })
    expect(result.status).toBe("failed")
    const error = (result as { error: RunError }).error
    expect(error).toMatchObject({
      _tag: "StepCodeError",
      step: "stamp",
      retryable: false,
      message: "steps.stamp.output: a Date is not a JSON value; return date.toISOString()",
    })
  })
})

describe("values that are kept exactly", () => {
  it("runs a date as an ISO string through a zod z.iso.datetime() output, and resumes it from SQLite unchanged", async () => {
    const Plan = z.object({ due: z.iso.datetime(), title: z.string() })
    const planning = pipeline({ id: "planning", input: z.object({}) })
      .step("plan", llm({ model: "fast", prompt: () => "plan", output: Plan }))
      .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
      .step(
        "schedule",
        fn(({ steps }) => `scheduled for ${steps.plan?.due}`),
      )
      .edges({ plan: "review", review: "schedule", schedule: "done" })
    const journal = sqliteFile()
    const models = { fast: scriptedModel([{ object: { due: "2025-03-01T09:30:00.000Z", title: "launch" } }]) }
    const paused = await planning.run({}, { journal, runId: "p1", models })
    expect(paused.status).toBe("awaiting-human")
    const done = await planning.decide("p1", "review", { approve: true }, { journal: sqliteJournal({ path: journal.path }), models })
    expect(done).toMatchObject({ status: "done", output: "scheduled for 2025-03-01T09:30:00.000Z" })
    expect(done.steps.plan).toEqual({ due: "2025-03-01T09:30:00.000Z", title: "launch" })
  })

  it("refuses an output schema that turns a result into a Date (z.coerce.date()), naming the path", async () => {
    const calendar = tool({
      name: "calendar",
      input: z.object({}),
      output: z.object({ due: z.coerce.date() }),
      // What the calendar API answers; the output schema turns it into a Date.
      run: () => ({ due: "2025-03-01T09:30:00.000Z" }) as unknown as { due: Date },
    })
    const planning = pipeline({ id: "coercing", input: z.object({}) })
      .step(
        "plan",
        callTool(calendar, () => ({})),
      )
      .edges({ plan: "done" })
    const result = await planning.run({}, { journal: memoryJournal() })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "StepCodeError", step: "plan", message: expect.stringMatching(/^steps\.plan\.output\.due: a Date/) },
    })
  })

  it("gives a step that returns nothing the output null, live and after a resume alike", async () => {
    const notifying = pipeline({ id: "notifying", input: z.object({}) })
      .step(
        "notify",
        fn(() => {}),
      )
      .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
      .step(
        "report",
        fn(({ steps }) => ({ notified: steps.notify === null })),
      )
      .edges({ notify: "review", review: "report", report: "done" })
    const journal = sqliteFile()
    const paused = await notifying.run({}, { journal, runId: "n1" })
    expect(paused.steps).toEqual({ notify: null })
    const done = await notifying.decide("n1", "review", { approve: true }, { journal })
    expect(done).toMatchObject({ status: "done", output: { notified: true }, steps: { notify: null } })
  })

  it("drops an undefined property as every journal does, and a memory journal reads back copies as SQLite does", async () => {
    const sparse = pipeline({ id: "sparse", input: z.object({}) })
      .step(
        "shape",
        fn(() => ({ kept: 1, dropped: undefined })),
      )
      .edges({ shape: "done" })
    for (const journal of [memoryJournal(), sqliteFile()]) {
      await sparse.run({}, { journal, runId: "s1" })
      const read = async () => (await journal.read("s1")).find((entry) => entry.type === "step.finished") as Extract<JournalEntry, { type: "step.finished" }>
      const finished = await read()
      expect(Object.keys(finished.output as object)).toEqual(["kept"])
      ;(finished.output as { kept: number }).kept = 99
      expect((await read()).output).toEqual({ kept: 1 })
    }
  })

  it("refuses, on a memory journal as on SQLite, an event that JSON cannot hold, naming the run and the seq", async () => {
    for (const journal of [memoryJournal(), sqliteFile()]) {
      const write = async () => journal.append({ seq: 0, type: "run.started", runId: "b1", pipeline: "p", input: { big: 1n }, at: 1 })
      await expect(write()).rejects.toThrow(/journal for run b1: event 0 \(run\.started\) is not JSON/)
      expect(await journal.read("b1")).toEqual([])
    }
  })

  it("refuses a parallel step whose join returns a Map", async () => {
    const joining = pipeline({ id: "joining", input: z.object({}) })
      .step("both", parallel({ branches: { a: fn(() => 1), b: fn(() => 2) }, join: ({ a, b }) => new Map([["sum", (a ?? 0) + (b ?? 0)]]) }))
      .edges({ both: "done" })
    const result = await joining.run({}, { journal: memoryJournal() })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "StepCodeError", step: "both", message: expect.stringMatching(/^steps\.both\.output: a Map/) },
    })
  })
})

describe("run inputs and decisions that are not JSON values", () => {
  const Input = z.object({ order: z.string(), meta: z.unknown() })
  const ordering = pipeline({ id: "ordering", input: Input })
    .step("review", human({ decision: z.object({ approve: z.boolean(), at: z.unknown() }) }))
    .edges({ review: "done" })

  it("refuses a run input with an InputValidationError result naming the path (run() and start() never reject)", async () => {
    const input = { order: "A-1", meta: { seen: [new Set([1])] } }
    const issue = { path: "meta.seen[0]", message: "a Set is not a JSON value; return [...set]" }
    const journal = memoryJournal()
    const result = await ordering.run(input, { journal, runId: "i1" })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "InputValidationError", issues: [issue] } })
    expect((result as { error: RunError }).error.message).toBe("invalid run input: meta.seen[0]: a Set is not a JSON value; return [...set]")
    expect(await journal.read("i1")).toEqual([])
    await expect(ordering.start(input).result).resolves.toMatchObject({ status: "failed", error: { _tag: "InputValidationError", issues: [issue] } })
    await expect(ordering.submit(input, { journal })).rejects.toThrow(/meta\.seen\[0\]: a Set/)
  })

  it("refuses a decision sent to a running handle with DecisionError invalid-decision naming the path; the run still waits", async () => {
    const handle = ordering.start({ order: "A-1", meta: null })
    // The stream ends with the run, so this cannot wait forever.
    for await (const event of handle.events) if (event.type === "human.waiting") break
    let refused: unknown
    try {
      handle.send("review", { approve: true, at: new Date(0) })
    } catch (error) {
      refused = error
    }
    expect(refused).toBeInstanceOf(DecisionError)
    expect(refused).toMatchObject({ reason: "invalid-decision", issues: [{ path: "at", message: "a Date is not a JSON value; return date.toISOString()" }] })
    handle.send("review", { approve: true, at: new Date(0).toISOString() })
    await expect(handle.result).resolves.toMatchObject({ status: "done", steps: { review: { approve: true, at: "1970-01-01T00:00:00.000Z" } } })
  })

  it("refuses a decision delivered through a SQLite journal, writing nothing", async () => {
    const journal = sqliteFile()
    const paused = await ordering.run({ order: "A-1", meta: null }, { journal, runId: "d1" })
    expect(paused.status).toBe("awaiting-human")
    const before = await journal.read("d1")
    await expect(ordering.decide("d1", "review", { approve: true, at: Number.NaN }, { journal })).rejects.toMatchObject({
      name: "DecisionError",
      reason: "invalid-decision",
      issues: [{ path: "at", message: expect.stringMatching(/^NaN is not a JSON value/) }],
    })
    expect(await journal.read("d1")).toEqual(before)
  })
})
