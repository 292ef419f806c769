import type { RunEvent, RunStatus } from "./events.ts"

/**
 * One journal record: a run event with its position in the run.
 *
 * @example
 * const first = (entries: readonly JournalEntry[]) => entries.find((entry) => entry.seq === 0)
 */
export type JournalEntry = RunEvent & { readonly seq: number }

/**
 * Where a run's events go, in order, before the machine moves on. The in-memory journal ships
 * here; durable stores (SQLite, Postgres) implement the same interface.
 *
 * @example
 * const journal: Journal = memoryJournal()
 * await journal.append({ seq: 0, type: "run.started", runId: "r1", pipeline: "p", input: {}, at: Date.now() })
 */
export interface Journal {
  /** How the store names itself in a {@link JournalError}-tagged run error (`sqlite ./runs.db`, `postgres`). */
  readonly label?: string
  /**
   * Appends one event. An entry whose `(runId, seq)` is already taken must be refused with a
   * {@link JournalConflictError} (another process is executing the run), any gap with an error.
   */
  append(entry: JournalEntry): void | Promise<void>
  /**
   * Appends consecutive events of one run in one commit, all or none (same refusals as `append`).
   * Optional: a journal whose commits cost a round trip (Postgres) offers it, and a run then
   * batches the events it records while a write is in flight.
   */
  appendMany?(entries: readonly JournalEntry[]): Promise<void>
  read(runId: string): Promise<readonly JournalEntry[]>
  /** Saves the latest persisted XState snapshot of a run (written when the run pauses or ends). */
  saveSnapshot(runId: string, snapshot: unknown): void | Promise<void>
  loadSnapshot(runId: string): Promise<unknown>
  /**
   * Exclusive execution of a run across processes: resolves with a claim while no other process
   * holds one, `undefined` when another does. Journals used by one process may omit it.
   */
  claim?(runId: string): Promise<RunClaim | undefined>
  /**
   * A cursor on the journal: the entries already written (after the given point), then each new
   * one as it is appended, by this process or any other sharing the store, until `signal` aborts
   * (the iteration then ends without an error) or the loop breaks. Optional: memory, SQLite and
   * Postgres journals offer it. See {@link JournalTailOptions} for what a position means.
   */
  tail?(options?: JournalTailOptions): AsyncIterable<TailedEntry>
}

/**
 * Where a {@link Journal.tail} starts and what it follows.
 *
 * With `runId`, the cursor is the run's `seq`: entries with `seq > afterSeq` in seq order (what a
 * browser's `Last-Event-ID` carries). Without it, every run is followed in the order the journal
 * committed the entries, and the cursor is `position`: a number the journal gives each entry,
 * increasing in commit order across all runs (memory: an append counter; SQLite: an AUTOINCREMENT
 * row; Postgres: a sequence assigned in commit order), with gaps allowed. Resume with the last
 * position seen as `afterPosition`. Positions belong to one journal: they mean nothing elsewhere.
 *
 * @example
 * const controller = new AbortController()
 * for await (const entry of journal.tail!({ runId, afterSeq: 3, signal: controller.signal })) console.log(entry.seq, entry.type)
 */
export interface JournalTailOptions {
  /** Follow this run only; absent, follow every run. */
  readonly runId?: string
  /** With `runId`: start after this seq (default -1: from the run's first entry). */
  readonly afterSeq?: number
  /** Start after this journal position (default 0: from the journal's first entry). */
  readonly afterPosition?: number
  /** Ends the iteration (cleanly, no error) when aborted. */
  readonly signal?: AbortSignal
}

/**
 * An entry as {@link Journal.tail} yields it: with its journal-wide `position`.
 *
 * @example
 * const resumeFrom = (last: TailedEntry) => ({ afterPosition: last.position })
 */
export type TailedEntry = JournalEntry & { readonly position: number }

/**
 * The right to execute one run, until released (or until the process holding it dies).
 *
 * @example
 * const claim = await journal.claim?.(runId)
 * try { ... } finally { await claim?.release() }
 */
export interface RunClaim {
  release(): Promise<void>
  /** Aborted if the claim is lost (its connection died): the holder must stop executing the run. */
  readonly signal?: AbortSignal
}

/**
 * An append lost a race: the run's next sequence number is already written, so another process
 * is executing the run. The loser stops executing it and appends nothing more.
 *
 * @example
 * if (error instanceof JournalConflictError) console.warn(`run ${error.runId} is executed elsewhere`)
 */
export class JournalConflictError extends Error {
  override readonly name = "JournalConflictError"
  readonly runId: string
  readonly seq: number
  constructor(runId: string, seq: number, detail = "") {
    super(`journal for run ${runId}: seq ${seq} is already written${detail === "" ? "" : ` (${detail})`}; another process is executing this run`)
    this.runId = runId
    this.seq = seq
  }
}

/**
 * One run as a durable journal lists it: its latest status, from its lifecycle events.
 *
 * @example
 * const waiting = (runs: readonly RunSummary[]) => runs.filter((run) => run.status === "awaiting-human")
 */
export interface RunSummary {
  readonly runId: string
  readonly pipeline: string
  readonly status: RunStatus
  /** Epoch milliseconds of the run's latest lifecycle event or snapshot. */
  readonly updatedAt: number
  /**
   * A run waiting on a person with a deadline: epoch milliseconds after which its timeout route
   * applies (a `worker()` resumes it then). Absent otherwise.
   */
  readonly deadline?: number
}

/**
 * Another process holds the claim on a run this process was asked to start or continue: the run is
 * healthy and executed there; this process runs none of it.
 *
 * @example
 * if (error instanceof RunClaimedError) console.info(`run ${error.runId} is executed elsewhere`)
 */
export class RunClaimedError extends Error {
  override readonly name = "RunClaimedError"
  readonly runId: string
  constructor(runId: string) {
    super(`another process holds the claim on run ${runId}`)
    this.runId = runId
  }
}

/**
 * This process lost its claim on a run (the claim's connection died, or another process took the
 * run over): it must stop executing the run at once and append nothing more.
 *
 * @example
 * claim.signal?.addEventListener("abort", () => stop(new ClaimLostError(runId, "the connection died")))
 */
export class ClaimLostError extends Error {
  override readonly name = "ClaimLostError"
  readonly runId: string
  constructor(runId: string, detail: string) {
    super(`lost the claim on run ${runId}: ${detail}`)
    this.runId = runId
  }
}

/**
 * A journal operation did not settle within the run's `journalTimeout`: the store is stalled (a
 * hung database server, an unreachable network mount). The run stops; the operation may still
 * complete later, which a resume reads.
 *
 * @example
 * if (error instanceof JournalTimeoutError) console.warn(`${error.operation} took over ${error.ms} ms`)
 */
export class JournalTimeoutError extends Error {
  override readonly name = "JournalTimeoutError"
  readonly operation: string
  readonly ms: number
  constructor(operation: string, ms: number) {
    super(`the journal did not answer ${operation} within ${ms} ms`)
    this.operation = operation
    this.ms = ms
  }
}
