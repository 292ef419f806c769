import { closeSync, openSync, writeSync } from "node:fs"
import type { RunEvent } from "../contract/events.ts"

/**
 * Where a {@link jsonlLog} writes: a file (appended to, created if missing) or a function that
 * receives each line (without its newline).
 *
 * @example
 * const target: JsonlTarget = { path: "run.jsonl" }
 */
export type JsonlTarget = { readonly path: string } | { readonly write: (line: string) => void }

/**
 * Options of {@link jsonlLog}.
 *
 * @example
 * const options: JsonlLogOptions = { truncate: 500, deltas: false }
 */
export interface JsonlLogOptions {
  /** Longest string field kept, in characters; longer ones are cut and marked. Default 2000. */
  readonly truncate?: number
  /** Also log `model.delta` (streamed text chunks). Default false. */
  readonly deltas?: boolean
}

/**
 * An observer that logs events as JSON lines; `close()` releases the file (a no-op for a `write`
 * target). Each line is written synchronously as its event arrives, so the log is complete when
 * the run settles, even if the process exits right after.
 *
 * @example
 * const log = jsonlLog({ path: "run.jsonl" })
 * await triage.run({ ticket }, { models, observers: [log] })
 * log.close()
 */
export interface JsonlLog {
  (event: RunEvent): void
  /** Closes the file; lines for events arriving later are dropped. Safe to call twice. */
  close(): void
}

const defaultTruncate = 2000

/** A JSON-safe deep copy: long strings cut, bigints as strings, cycles and functions marked. */
const loggable = (value: unknown, limit: number, seen: Set<object>): unknown => {
  if (typeof value === "string") return value.length <= limit ? value : `${value.slice(0, limit)}…[truncated ${value.length - limit} chars]`
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "function" || typeof value === "symbol") return undefined
  if (value === null || typeof value !== "object") return value
  if (seen.has(value)) return "[circular]"
  seen.add(value)
  try {
    if (value instanceof Date) return value.toISOString()
    if (value instanceof Error) return { name: value.name, message: loggable(value.message, limit, seen) }
    if (Array.isArray(value)) return value.map((item) => loggable(item, limit, seen) ?? null)
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, loggable(field, limit, seen)]))
  } finally {
    seen.delete(value)
  }
}

/** One event as its log line: `time` (ISO) first, then the event's own fields. */
const logLine = (event: RunEvent, limit = defaultTruncate): string =>
  JSON.stringify({ time: new Date(event.at).toISOString(), ...(loggable(event, limit, new Set()) as object) })

/**
 * Creates a step log: one JSON object per line for every event of the runs it observes (model
 * calls with their prompts and responses, tool calls, retries, routes, tokens, cost, durations),
 * string fields cut at `truncate` characters. Events arrive redacted (see `RunOptions.redact`).
 *
 * @example
 * const log = jsonlLog({ path: "logs/triage.jsonl" }, { truncate: 500 })
 * await triage.run({ ticket }, { models, redact: { keys: ["password"] }, observers: [log] })
 * log.close()
 */
export const jsonlLog = (target: JsonlTarget, options: JsonlLogOptions = {}): JsonlLog => {
  const limit = options.truncate ?? defaultTruncate
  let descriptor: number | undefined
  let closed = false
  const write =
    "write" in target
      ? target.write
      : (line: string) => {
          // Opened on the first event, so creating a log that is never used leaves no file.
          descriptor ??= openSync(target.path, "a")
          const bytes = Buffer.from(`${line}\n`)
          for (let offset = 0; offset < bytes.length; ) offset += writeSync(descriptor, bytes, offset)
        }
  const log = (event: RunEvent) => {
    if (closed || (event.type === "model.delta" && options.deltas !== true)) return
    write(logLine(event, limit))
  }
  return Object.assign(log, {
    close: () => {
      closed = true
      if (descriptor !== undefined) closeSync(descriptor)
      descriptor = undefined
    },
  })
}
