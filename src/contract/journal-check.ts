// A journal is read back from a file or a database that a crash, a full disk or a hand may have
// changed: every entry is checked against the event it claims to be before a run acts on it.
import type { RunEvent, RunEventType } from "./events.ts"
import type { JournalEntry } from "./journal.ts"

/**
 * A run's journal holds something that is not one of its events in order: a row that is not
 * JSON (a torn write), not an object, of an unknown type, missing a field its type requires, or
 * out of sequence. `seq` is the entry's position (`undefined` for the run's snapshot).
 *
 * @example
 * try { await pipeline.resume(runId, { journal }) } catch (error) { if (error instanceof ResumeError && error.cause instanceof CorruptJournalError) console.error(error.cause.seq) }
 */
export class CorruptJournalError extends Error {
  override readonly name = "CorruptJournalError"
  readonly runId: string
  readonly seq: number | undefined
  /** What is wrong with the entry, e.g. `step.finished has no "output"`. */
  readonly problem: string
  constructor(runId: string, seq: number | undefined, problem: string) {
    super(`the journal of run ${runId} is corrupt${seq === undefined ? "" : ` at seq ${seq}`}: ${problem}`)
    this.runId = runId
    this.seq = seq
    this.problem = problem
  }
}

type FieldKind = "string" | "number" | "boolean" | "array" | "error" | "object" | "value"

// The kind a field's TypeScript type calls for; `value` is anything JSON (an output, an input).
type KindOf<TValue> = unknown extends TValue
  ? "value"
  : [TValue] extends [string]
    ? "string"
    : [TValue] extends [number]
      ? "number"
      : [TValue] extends [boolean]
        ? "boolean"
        : [TValue] extends [readonly unknown[]]
          ? "array"
          : [TValue] extends [{ readonly _tag: string; readonly message: string }]
            ? "error"
            : [TValue] extends [object]
              ? "object"
              : never

// Every field of an event but those all events share, required or (`?`) optional, with its kind.
type FieldsOf<TEvent> = {
  readonly [TKey in Exclude<keyof TEvent, "type" | "runId" | "at">]-?: object extends Pick<TEvent, TKey>
    ? `${KindOf<Exclude<TEvent[TKey], undefined>>}?`
    : KindOf<TEvent[TKey]>
}

/**
 * The fields of each event type, as `events.ts` declares them. The type is computed from the
 * {@link RunEvent} union, so an event type or field added, removed or retyped there does not
 * compile until this table says the same.
 *
 * @example
 * journalEventFields["step.finished"].output // "value": required, any JSON value
 */
export const journalEventFields: { readonly [TType in RunEventType]: FieldsOf<Extract<RunEvent, { readonly type: TType }>> } = {
  "run.started": { pipeline: "string", input: "value", structure: "object?", forkedFrom: "object?" },
  "step.started": { step: "string", visit: "number" },
  "step.retried": { step: "string", visit: "number", turn: "number?", attempt: "number", error: "error", delayMs: "number" },
  "model.delta": { step: "string", visit: "number", text: "string" },
  "model.called": {
    step: "string",
    visit: "number",
    turn: "number?",
    provider: "string",
    model: "string",
    messages: "array?",
    conversation: "object?",
    response: "object?",
    error: "error?",
    usage: "object?",
    durationMs: "number",
    cached: "boolean?",
    queuedMs: "number?",
  },
  "tool.called": {
    step: "string",
    visit: "number",
    tool: "string",
    callId: "string?",
    turn: "number?",
    args: "value",
    result: "value?",
    error: "error?",
    durationMs: "number",
  },
  "agent.turned": { step: "string", visit: "number", turn: "number", text: "string", toolCalls: "array", usage: "object", elapsedMs: "number" },
  "model.repair": { step: "string", visit: "number", repair: "number", issues: "array" },
  "model.fallback": { step: "string", visit: "number", turn: "number?", from: "string", to: "string", error: "error" },
  "step.finished": {
    step: "string",
    visit: "number",
    output: "value",
    next: "string",
    attempts: "number",
    durationMs: "number",
    usage: "object?",
    thread: "array?",
  },
  "step.failed": { step: "string", visit: "number", error: "error", attempts: "number", durationMs: "number", usage: "object?" },
  "map.listed": { step: "string", visit: "number", count: "number", fingerprint: "string" },
  "route.taken": { from: "string", to: "string" },
  "human.waiting": { step: "string", visit: "number", prompt: "string?", deadline: "number?" },
  "human.decided": { step: "string", visit: "number", decision: "value" },
  "human.expired": { step: "string", visit: "number" },
  "thread.loaded": { threadId: "string", messages: "array", facts: "object" },
  "thread.saved": { threadId: "string", messages: "number", facts: "array" },
  "run.retried": { steps: "array", retry: "number" },
  "run.finished": { status: "string", durationMs: "number", error: "error?", stoppedBy: "object?" },
}

const described = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (typeof value === "object") return "an object"
  if (typeof value === "string") return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`
  return `${typeof value === "undefined" ? "" : `a ${typeof value} `}${String(value)}`.trim()
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const fits = (kind: FieldKind, value: unknown): boolean => {
  switch (kind) {
    case "value":
      return true
    case "string":
    case "boolean":
      return typeof value === kind
    case "number":
      return typeof value === "number" && Number.isFinite(value)
    case "array":
      return Array.isArray(value)
    case "object":
      return isObject(value)
    case "error":
      // What the run reads of a failure: its tag (replay) and its message (every view).
      return isObject(value) && typeof value["_tag"] === "string" && typeof value["message"] === "string"
  }
}

const expected: Readonly<Record<FieldKind, string>> = {
  value: "a value",
  string: "a string",
  number: "a finite number",
  boolean: "a boolean",
  array: "an array",
  object: "an object",
  error: "an error (an object with _tag and message strings)",
}

const knownTypes: ReadonlyMap<string, Readonly<Record<string, string>>> = new Map(Object.entries(journalEventFields))

/**
 * What is wrong with one journal entry read back from a store, or `undefined` if it is an event
 * of a known type with every field its type requires, each of the right kind (an optional field
 * may be absent, not of another kind). Sequence and run are checked by {@link checkJournal}.
 *
 * @example
 * journalEntryProblem({ seq: 3, type: "step.finished", runId: "r1", step: "fetch", visit: 1, next: "done", attempts: 1, durationMs: 4, at: 0 })
 * // 'step.finished has no "output"'
 */
export const journalEntryProblem = (entry: unknown): string | undefined => {
  if (!isObject(entry)) return `the entry is ${described(entry)}, not an event`
  const type = entry["type"]
  if (typeof type !== "string") return "the entry has no event type"
  const fields = knownTypes.get(type)
  if (fields === undefined) return `${JSON.stringify(type)} is not a known event type`
  for (const [field, kind] of [
    ["runId", "string"],
    ["at", "number"],
    ["seq", "number"],
  ] as const) {
    if (!fits(kind, entry[field])) return `${type} has ${entry[field] === undefined ? "no" : `${described(entry[field])} as`} "${field}"`
  }
  for (const [field, declared] of Object.entries(fields)) {
    const optional = declared.endsWith("?")
    const kind = (optional ? declared.slice(0, -1) : declared) as FieldKind
    const value = entry[field]
    if (value === undefined) {
      if (optional) continue
      return `${type} has no ${JSON.stringify(field)}`
    }
    if (!fits(kind, value)) return `${JSON.stringify(field)} of ${type} is ${described(value)}, not ${expected[kind]}`
  }
  return undefined
}

/**
 * Checks a run's journal as read from a store and returns it typed: every entry an event of
 * `runId` (see {@link journalEntryProblem}), numbered 0, 1, 2… without gaps, the first one
 * `run.started`. Throws a {@link CorruptJournalError} naming the run and the first bad seq.
 *
 * @example
 * const entries = checkJournal(runId, await journal.read(runId))
 */
export const checkJournal = (runId: string, entries: readonly unknown[]): readonly JournalEntry[] => {
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]
    const problem = journalEntryProblem(entry)
    if (problem !== undefined) {
      const seq = isObject(entry) && typeof entry["seq"] === "number" ? entry["seq"] : index
      throw new CorruptJournalError(runId, seq, problem)
    }
    const event = entry as JournalEntry
    if (event.seq !== index) throw new CorruptJournalError(runId, index, `expected seq ${index}, found seq ${event.seq} (an entry is missing or out of place)`)
    if (event.runId !== runId) throw new CorruptJournalError(runId, index, `the entry belongs to run ${JSON.stringify(event.runId)}`)
    if (index === 0 && event.type !== "run.started") throw new CorruptJournalError(runId, 0, `the run's first event is ${event.type}, not run.started`)
  }
  return entries as readonly JournalEntry[]
}

/**
 * Parses what a store kept as JSON text (a row's data, a snapshot); text a torn write or a hand
 * left behind is a {@link CorruptJournalError} naming `what`, never a raw `SyntaxError`.
 *
 * @example
 * const data = parseStored("r1", 3, "step.finished row", '{"step":"fetch"')
 * // throws CorruptJournalError: the journal of run r1 is corrupt at seq 3: its step.finished row is not JSON (…)
 */
export const parseStored = (runId: string, seq: number | undefined, what: string, text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new CorruptJournalError(runId, seq, `its ${what} is not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
}

/**
 * One stored row as a journal entry: `data` (the event's fields but type, run, time and seq,
 * parsed) must be an object. Stores build their entries with it, so a row of another shape is a
 * {@link CorruptJournalError}, and {@link checkJournal} checks the rest.
 *
 * @example
 * const entry = entryOfRow("r1", { seq: 0, type: "run.started", at: 1000, data: { pipeline: "p", input: {} } })
 */
export const entryOfRow = (runId: string, row: { readonly seq: number; readonly type: string; readonly at: number; readonly data: unknown }): JournalEntry => {
  if (!isObject(row.data)) throw new CorruptJournalError(runId, row.seq, `its ${row.type} row holds ${described(row.data)}, not an object of fields`)
  return { type: row.type, runId, ...row.data, at: row.at, seq: row.seq } as JournalEntry
}
