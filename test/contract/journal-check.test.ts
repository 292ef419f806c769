import { describe, expect, expectTypeOf, it } from "vitest"
import { z } from "zod"
import { CorruptJournalError, checkJournal, entryOfRow, journalEntryProblem, journalEventFields, parseStored } from "../../src/contract/journal-check.ts"
import { callTool, human, type JournalEntry, llm, memoryJournal, pipeline, type RunEventType, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: ({ id }) => ({ id, status: "shipped" }) })

// Tool and model calls, a retry, a wait, a decision and the end: a journal with most event types.
const support = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
  .step(
    "lookup",
    callTool(lookup, () => ({ id: "A-1" })),
  )
  .step("answer", llm({ model: "fast", prompt: ({ input }) => input.ticket, policy: { retry: { attempts: 2, initialDelay: "1ms", jitter: false } } }))
  .step("review", human({ decision: z.object({ approve: z.boolean() }), timeout: "1h" }))
  .edges({ lookup: "answer", answer: "review", review: { next: "done", timeout: "done" } })

const journalOfRun = async (): Promise<readonly JournalEntry[]> => {
  const journal = memoryJournal()
  const models = { fast: scriptedModel([{ fail: "rate-limited", message: "slow down" }, "Shipped."]) }
  const paused = await support.run({ ticket: "where is A-1?" }, { journal, runId: "r1", models })
  expect(paused.status).toBe("awaiting-human")
  const done = await support.decide("r1", "review", { approve: true }, { journal, models })
  expect(done.status).toBe("done")
  return journal.read("r1")
}

/** The run's journal with entry `seq` replaced by `replace(entry)`. */
const withEntry = (entries: readonly JournalEntry[], type: JournalEntry["type"], replace: (entry: Record<string, unknown>) => unknown): unknown[] => {
  const index = entries.findIndex((entry) => entry.type === type)
  expect(index).toBeGreaterThan(-1)
  return entries.map((entry, position) => (position === index ? replace({ ...entry }) : entry))
}

const corruption = (entries: readonly unknown[]): CorruptJournalError => {
  try {
    checkJournal("r1", entries)
  } catch (error) {
    if (error instanceof CorruptJournalError) return error
    throw error
  }
  throw new Error("checkJournal accepted a corrupt journal")
}

describe("checkJournal", () => {
  it("accepts the journal of a real run and returns it as it is", async () => {
    const entries = await journalOfRun()
    const types = new Set(entries.map((entry) => entry.type))
    for (const type of ["run.started", "tool.called", "step.retried", "model.called", "step.finished", "human.waiting", "human.decided", "run.finished"]) {
      expect(types).toContain(type)
    }
    expect(checkJournal("r1", entries)).toBe(entries)
    expect(checkJournal("r1", [])).toEqual([])
  })

  it.each<[string, (entry: Record<string, unknown>) => unknown, RegExp]>([
    ["an entry that is null", () => null, /the entry is null, not an event/],
    ["an entry that is a string", () => "step.finished", /the entry is a string \("step\.finished"\), not an event/],
    ["an entry that is an array", () => [1], /the entry is an array, not an event/],
    ["an entry of an unknown type", (entry) => ({ ...entry, type: "step.exploded" }), /"step\.exploded" is not a known event type/],
    ["an entry without a type", ({ type: _type, ...entry }) => entry, /the entry has no event type/],
    ["a step.finished without its output", ({ output: _output, ...entry }) => entry, /step\.finished has no "output"/],
    ["a step.finished whose visit is a string", (entry) => ({ ...entry, visit: "1" }), /"visit" of step\.finished is a string \("1"\), not a finite number/],
    ["a step.finished whose next is null", (entry) => ({ ...entry, next: null }), /"next" of step\.finished is null, not a string/],
    ["a step.finished whose usage (optional) is a number", (entry) => ({ ...entry, usage: 3 }), /"usage" of step\.finished is a number 3, not an object/],
    ["an entry without its time", ({ at: _at, ...entry }) => entry, /step\.finished has no "at"/],
  ])("refuses %s, naming the run and the seq", async (_name, replace, problem) => {
    const entries = await journalOfRun()
    const corrupt = withEntry(entries, "step.finished", replace)
    const seq = entries.findIndex((entry) => entry.type === "step.finished")
    const error = corruption(corrupt)
    expect(error).toMatchObject({ name: "CorruptJournalError", runId: "r1", seq, problem: expect.stringMatching(problem) })
    expect(error.message).toMatch(new RegExp(`^the journal of run r1 is corrupt at seq ${seq}: `))
  })

  it("refuses a failure without its tag, a decision that went missing and a wait whose deadline is text", async () => {
    const entries = await journalOfRun()
    expect(corruption(withEntry(entries, "step.retried", (entry) => ({ ...entry, error: { message: "slow down" } }))).problem).toBe(
      '"error" of step.retried is an object, not an error (an object with _tag and message strings)',
    )
    expect(corruption(withEntry(entries, "human.decided", ({ decision: _decision, ...entry }) => entry)).problem).toBe('human.decided has no "decision"')
    expect(corruption(withEntry(entries, "human.waiting", (entry) => ({ ...entry, deadline: "tomorrow" }))).problem).toMatch(/"deadline" of human\.waiting/)
  })

  it("refuses a gap, an entry out of place, another run's entry and a journal that does not start with run.started", async () => {
    const entries = await journalOfRun()
    expect(corruption([entries[0], entries[2]])).toMatchObject({ seq: 1, problem: "expected seq 1, found seq 2 (an entry is missing or out of place)" })
    expect(corruption([entries[0], { ...entries[1], runId: "r2" }])).toMatchObject({ seq: 1, problem: 'the entry belongs to run "r2"' })
    expect(corruption([{ ...entries[1], seq: 0 }])).toMatchObject({ seq: 0, problem: expect.stringMatching(/first event is .*, not run\.started/) })
  })

  it("knows every event type of the RunEvent union, each with its fields", () => {
    // The table's type is computed from events.ts: a type or field missing here does not compile.
    expectTypeOf<keyof typeof journalEventFields>().toEqualTypeOf<RunEventType>()
    expect(Object.keys(journalEventFields)).toContain("step.finished")
    expect(journalEventFields["step.finished"]).toMatchObject({ output: "value", next: "string", visit: "number", usage: "object?" })
    expect(journalEntryProblem({ type: "route.taken", runId: "r1", from: "a", to: "b", at: 1, seq: 2 })).toBeUndefined()
  })
})

describe("entryOfRow and parseStored (for stores)", () => {
  it("turn a torn row into a CorruptJournalError naming the run and the seq, never a SyntaxError", () => {
    const torn = () => parseStored("r1", 7, "step.finished row", '{"step":"fetch","output":{"a')
    expect(torn).toThrow(CorruptJournalError)
    expect(torn).toThrow(/^the journal of run r1 is corrupt at seq 7: its step\.finished row is not JSON \(/)
    expect(() => parseStored("r1", undefined, "snapshot", "{")).toThrow(/^the journal of run r1 is corrupt: its snapshot is not JSON/)
  })

  it("refuse row data that is not an object of fields", () => {
    for (const [data, shown] of [
      [null, "null"],
      ["text", 'a string ("text")'],
      [[1], "an array"],
      [3, "a number 3"],
    ] as const) {
      expect(() => entryOfRow("r1", { seq: 2, type: "step.started", at: 5, data })).toThrow(
        `the journal of run r1 is corrupt at seq 2: its step.started row holds ${shown}, not an object of fields`,
      )
    }
    expect(entryOfRow("r1", { seq: 2, type: "step.started", at: 5, data: { step: "a", visit: 1 } })).toEqual({
      type: "step.started",
      runId: "r1",
      step: "a",
      visit: 1,
      at: 5,
      seq: 2,
    })
  })
})
