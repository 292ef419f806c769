// A journal whose payloads are encoded at rest (encrypted, say): what a run wrote is readable only
// with the codec, while the fields a store lists and indexes by stay in clear.
import type { Journal, JournalEntry, JournalTailOptions } from "../contract/journal.ts"

/**
 * Turns a journaled payload (an event's fields or a snapshot, as JSON text) into the text stored,
 * and back. `decode(encode(text))` must give `text` again. Either may be async (a key service).
 *
 * @example
 * const reversed: PayloadCodec = { encode: (text) => [...text].reverse().join(""), decode: (text) => [...text].reverse().join("") }
 */
export interface PayloadCodec {
  encode(payload: string): string | Promise<string>
  decode(payload: string): string | Promise<string>
}

/**
 * A payload could not be encoded or decoded: a wrong key, a key id this codec does not have, or a
 * payload altered at rest. Names the run and the entry (`seq`, or `"snapshot"`), never the key.
 *
 * @example
 * try { await journal.read(runId) } catch (error) { if (error instanceof CodecError) console.error(error.runId, error.seq) }
 */
export class CodecError extends Error {
  override readonly name = "CodecError"
  readonly runId: string
  readonly seq: number | "snapshot"
  readonly operation: "encode" | "decode"
  constructor(runId: string, seq: number | "snapshot", operation: "encode" | "decode", detail: string, options?: { readonly cause?: unknown }) {
    super(`cannot ${operation} ${seq === "snapshot" ? "the snapshot" : `seq ${seq}`} of run ${runId}: ${detail}`, options)
    this.runId = runId
    this.seq = seq
    this.operation = operation
  }
}

// The field an encoded entry or snapshot keeps its payload in; no event field starts with "$".
const encodedField = "$encoded"

/**
 * Event fields kept in clear beside the payload (inside it too), because stores and workers read
 * them without the key: the pipeline and final status list a run (SQLite's `runs` trigger,
 * Postgres's `runs` row), and a human wait's step, visit and deadline tell a worker what is due.
 * Everything else of an event (inputs, outputs, decisions, call records, errors) is encoded.
 *
 * @example
 * clearFieldsOf["run.finished"] // ["status"]
 */
export const clearFieldsOf: Readonly<Partial<Record<JournalEntry["type"], readonly string[]>>> = {
  "run.started": ["pipeline"],
  "run.finished": ["status"],
  "human.waiting": ["step", "visit", "deadline"],
  "human.decided": ["step", "visit"],
  "human.expired": ["step", "visit"],
}

type Encoded = Record<string, unknown> & { readonly [encodedField]?: unknown }

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

// A sync codec keeps the journal sync (SQLite appends stay one INSERT in the same turn).
const then = <T, R>(value: T | Promise<T>, next: (value: T) => R): R | Promise<Awaited<R>> =>
  value instanceof Promise ? (value.then(next) as Promise<Awaited<R>>) : next(value)

/**
 * Wraps a journal so every event's payload and every snapshot is stored encoded by `codec`.
 * `runId`, `seq`, `type` and `at` stay in clear, and so do the few fields in {@link clearFieldsOf};
 * the rest is readable only through this wrapper. Entries written without a codec (before it was
 * set) are read as they are. A payload the codec cannot decode is a {@link CodecError}. Every
 * other member of the journal (`runs()`, `claim`, `close()`…) is the journal's own.
 *
 * @example
 * const journal = encodedJournal(sqliteJournal({ path: "runs.db" }), aesGcmCodec(process.env.JOURNAL_KEY ?? ""))
 */
export const encodedJournal = <TJournal extends Journal>(journal: TJournal, codec: PayloadCodec): TJournal => {
  const encode = (runId: string, seq: number | "snapshot", text: string): string | Promise<string> => {
    const failed = (error: unknown): never => {
      throw new CodecError(runId, seq, "encode", messageOf(error), { cause: error })
    }
    try {
      const encoded = codec.encode(text)
      return encoded instanceof Promise ? encoded.catch(failed) : encoded
    } catch (error) {
      return failed(error)
    }
  }
  const decode = (runId: string, seq: number | "snapshot", stored: unknown): unknown => {
    if (typeof stored !== "string") throw new CodecError(runId, seq, "decode", `its payload is ${typeof stored}, not encoded text`)
    const failed = (error: unknown): never => {
      throw error instanceof CodecError ? error : new CodecError(runId, seq, "decode", messageOf(error), { cause: error })
    }
    const parse = (text: string): unknown => {
      try {
        return JSON.parse(text)
      } catch (error) {
        throw new CodecError(runId, seq, "decode", `the decoded payload is not JSON (${messageOf(error)}): is this the codec it was written with?`)
      }
    }
    try {
      const decoded = codec.decode(stored)
      return decoded instanceof Promise ? decoded.then(parse, failed) : parse(decoded)
    } catch (error) {
      return failed(error)
    }
  }

  const encodeEntry = (entry: JournalEntry): JournalEntry | Promise<JournalEntry> => {
    const { runId, seq, type, at, ...data } = entry
    const clear: Record<string, unknown> = {}
    for (const field of clearFieldsOf[type] ?? []) if (field in data) clear[field] = (data as Record<string, unknown>)[field]
    let text: string
    try {
      text = JSON.stringify(data)
    } catch (error) {
      throw new Error(`journal for run ${runId}: event ${seq} (${type}) is not JSON: ${messageOf(error)}`)
    }
    return then(encode(runId, seq, text), (encoded) => ({ type, runId, ...clear, [encodedField]: encoded, at, seq }) as unknown as JournalEntry)
  }
  const decodeEntry = (entry: JournalEntry): JournalEntry | Promise<JournalEntry> => {
    const stored = entry as unknown as Encoded
    if (!(encodedField in stored)) return entry
    const { type, runId, at, seq } = entry
    return then(decode(runId, seq, stored[encodedField]), (fields) => {
      if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
        throw new CodecError(runId, seq, "decode", "the decoded payload is not an object of event fields")
      }
      return { type, runId, ...fields, at, seq } as JournalEntry
    })
  }

  const appendMany = journal.appendMany?.bind(journal)
  const tail = journal.tail?.bind(journal)
  const wrapped: Journal = {
    ...(journal.label === undefined ? {} : { label: `${journal.label} (encoded)` }),
    append: (entry) => then(encodeEntry(entry), (encoded) => journal.append(encoded)),
    ...(appendMany === undefined ? {} : { appendMany: async (entries: readonly JournalEntry[]) => appendMany(await Promise.all(entries.map(encodeEntry))) }),
    read: async (runId) => Promise.all((await journal.read(runId)).map(decodeEntry)),
    saveSnapshot: (runId, snapshot) => {
      const text = JSON.stringify(snapshot)
      // Nothing to hide in "no snapshot": the journal stores its absence as it always does.
      if (text === undefined) return journal.saveSnapshot(runId, snapshot)
      return then(encode(runId, "snapshot", text), (encoded) => journal.saveSnapshot(runId, { [encodedField]: encoded }))
    },
    ...(tail === undefined
      ? {}
      : {
          tail: (options?: JournalTailOptions) => {
            // Called now, so wrong options throw here as they do unencoded.
            const entries = tail(options)
            return (async function* () {
              for await (const entry of entries) yield { ...(await decodeEntry(entry)), position: entry.position }
            })()
          },
        }),
    loadSnapshot: async (runId) => {
      const stored = await journal.loadSnapshot(runId)
      if (typeof stored !== "object" || stored === null || !(encodedField in stored)) return stored
      return decode(runId, "snapshot", (stored as Encoded)[encodedField])
    },
  }
  return { ...journal, ...wrapped } as TJournal
}

/**
 * Applies a codec when one is given: what a store's `codec` option does.
 *
 * @example
 * const journal = withCodec<Journal>(process.env.JOURNAL_KEY ? aesGcmCodec(process.env.JOURNAL_KEY) : undefined, memoryJournal())
 */
export const withCodec = <TJournal extends Journal>(codec: PayloadCodec | undefined, journal: TJournal): TJournal =>
  codec === undefined ? journal : encodedJournal(journal, codec)
