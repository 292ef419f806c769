// How a run says that its journal stopped it: one typed JournalError for a refused write, a lost
// race, a lost claim and a store that does not answer, and the bound on every journal operation.

import { evidenceOf, messageOf } from "../contract/error-evidence.ts"
import type { JournalErrorReason, RunError } from "../contract/errors.ts"
import { ClaimLostError, type Journal, JournalConflictError, JournalTimeoutError, type RunClaim, RunClaimedError } from "../contract/journal.ts"

/** How long a journal operation may take before the run stops, unless `journalTimeout` says otherwise. */
export const defaultJournalTimeoutMs = 30_000

// node:sqlite reports SQLite's result code as a number (`errcode`, extended codes carry the
// primary one in their low byte); the names are what an operator searches for.
const sqliteCodes: Readonly<Record<number, string>> = {
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  8: "SQLITE_READONLY",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
}

const codeOf = (thrown: unknown): string | undefined => {
  if (typeof thrown !== "object" || thrown === null) return undefined
  const { code, errcode } = thrown as { code?: unknown; errcode?: unknown }
  if (typeof errcode === "number") return sqliteCodes[errcode & 0xff] ?? `SQLITE_ERROR(${errcode})`
  return typeof code === "string" ? code : undefined
}

const reasonOf = (thrown: unknown): JournalErrorReason => {
  if (thrown instanceof JournalConflictError || thrown instanceof RunClaimedError) return "conflict"
  if (thrown instanceof ClaimLostError) return "claim-lost"
  if (thrown instanceof JournalTimeoutError) return "timeout"
  return "write-failed"
}

const says: Record<JournalErrorReason, string> = {
  "write-failed": "refused a write",
  conflict: "says another process is executing the run",
  "claim-lost": "no longer lets this process execute the run",
  timeout: "did not answer in time",
}

/**
 * The RunError of a journal that stopped a run: what the store said, and that the run is
 * resumable from its last durable event.
 *
 * @example
 * journalErrorOf(Object.assign(new Error("database or disk is full"), { errcode: 13 }), "sqlite ./runs.db")
 * // { _tag: "JournalError", reason: "write-failed", store: "sqlite ./runs.db", code: "SQLITE_FULL", … }
 */
export const journalErrorOf = (thrown: unknown, store: string, step?: string): RunError => {
  const reason = reasonOf(thrown)
  const code = codeOf(thrown)
  return {
    _tag: "JournalError",
    reason,
    store,
    ...(step === undefined ? {} : { step }),
    ...(code === undefined ? {} : { code }),
    message: `the journal (${store}) ${thrown instanceof JournalTimeoutError ? `did not answer ${thrown.operation} within ${thrown.ms} ms` : `${says[reason]}: ${messageOf(thrown)}`}. The run stopped before any more of its code ran; ${reason === "conflict" || reason === "claim-lost" ? "the process that holds it now continues it" : "resume it once the journal works"}`,
    ...evidenceOf(thrown, "JournalError"),
  }
}

/**
 * `operation`, or a {@link JournalTimeoutError} once `ms` have passed without it settling. The
 * operation is not abandoned (a store cannot be told to stop): a late rejection is swallowed,
 * since the run has already stopped for the timeout.
 *
 * @example
 * await bounded(journal.read(runId), 30_000, `read of run ${runId}`)
 */
export const bounded = <TValue>(operation: Promise<TValue>, ms: number, what: string): Promise<TValue> => {
  if (!Number.isFinite(ms)) return operation
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new JournalTimeoutError(what, ms)), ms)
    // A stalled store must not keep the process alive by itself.
    timer.unref?.()
  })
  return Promise.race([operation, timedOut]).finally(() => clearTimeout(timer))
}

/**
 * `journal.claim(runId)` within `ms`. A claim granted after the run gave up waiting is released
 * at once, so a slow store never keeps a run claimed by a process that is no longer executing it.
 *
 * @example
 * const claim = await boundedClaim(journal, runId, 30_000)
 */
export const boundedClaim = async (journal: Journal, runId: string, ms: number): Promise<RunClaim | undefined> => {
  const claiming = journal.claim?.(runId) ?? Promise.resolve(undefined)
  try {
    return await bounded(claiming, ms, `the claim of run ${runId}`)
  } catch (error) {
    void claiming.then((late) => late?.release()).catch(() => {})
    throw error
  }
}
