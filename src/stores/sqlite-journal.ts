import type { DatabaseSync, StatementSync } from "node:sqlite"
import type { RunStatus } from "../contract/events.ts"
import {
  type Journal,
  JournalConflictError,
  type JournalEntry,
  type JournalTailOptions,
  type RunClaim,
  type RunSummary,
  type TailedEntry,
} from "../contract/journal.ts"
import { entryOfRow, parseStored } from "../contract/journal-check.ts"
import { type PayloadCodec, withCodec } from "./codec.ts"
import { claimsSchema, sqliteClaims } from "./sqlite-claim.ts"
import { openSqlite } from "./sqlite-open.ts"
import { addPositions, sqliteTails } from "./sqlite-tail.ts"

/**
 * Options of a SQLite journal.
 *
 * @example
 * const options: SqliteJournalOptions = { path: ".switchboard/runs.db", busyTimeoutMs: 10_000 }
 */
export interface SqliteJournalOptions {
  /** The database file (its parent directory is created), or `":memory:"`. */
  readonly path: string
  /** How long a write waits for another process's lock before failing (default 5000 ms). */
  readonly busyTimeoutMs?: number
  /** Encodes (encrypts) every event's payload and snapshot at rest, e.g. `aesGcmCodec(key)`; `encodedJournal` says what stays in clear. */
  readonly codec?: PayloadCodec
  /** How often a `tail()` checks whether another process wrote (default 50 ms; one cheap pragma per check, shared by all tails). */
  readonly tailPollMs?: number
}

/**
 * A run as a SQLite journal lists it; `owner` (`host:pid`) is present while a live process holds its claim.
 *
 * @example
 * const orphaned = (runs: readonly SqliteRunSummary[]) => runs.filter((run) => run.status === "running" && run.owner === undefined)
 */
export interface SqliteRunSummary extends RunSummary {
  readonly owner?: string
}

/**
 * A durable journal: a {@link Journal} that also lists its runs and must be closed.
 *
 * @example
 * const journal: SqliteJournal = sqliteJournal({ path: ":memory:" })
 * journal.close()
 */
export interface SqliteJournal extends Journal {
  readonly path: string
  /** Every run in this database, most recently updated first. */
  runs(): readonly SqliteRunSummary[]
  /** Resolves with a claim on the run while no live process on this machine holds one (this one included), else `undefined`. */
  claim(runId: string): Promise<RunClaim | undefined>
  /** Follows the journal (see {@link Journal.tail}); another process's writes show up within `tailPollMs`. */
  tail(options?: JournalTailOptions): AsyncIterable<TailedEntry>
  /** Releases this journal's claims (aborting their signals) and closes the database; the journal cannot be used afterwards. */
  close(): void
}

// Lifecycle events keep `runs` current from inside SQLite, so an append stays one INSERT. A wait
// with a deadline sets `deadline` (rounded up to a whole millisecond), every other lifecycle event
// clears it: a worker finds the runs whose deadline is due there.
const runStatusTrigger = `journal_run_status AFTER INSERT ON journal
WHEN NEW.type IN ('run.started', 'human.waiting', 'human.decided', 'human.expired', 'run.finished')
BEGIN
  INSERT INTO runs (run_id, pipeline, status, created_at, updated_at, deadline)
  VALUES (
    NEW.run_id,
    coalesce(json_extract(NEW.data, '$.pipeline'), ''),
    CASE NEW.type
      WHEN 'human.waiting' THEN 'awaiting-human'
      WHEN 'run.finished' THEN json_extract(NEW.data, '$.status')
      ELSE 'running'
    END,
    NEW.at,
    NEW.at,
    CASE WHEN NEW.type = 'human.waiting' THEN
      CAST(json_extract(NEW.data, '$.deadline') AS INTEGER)
        + (json_extract(NEW.data, '$.deadline') > CAST(json_extract(NEW.data, '$.deadline') AS INTEGER))
    END
  )
  ON CONFLICT (run_id) DO UPDATE SET
    pipeline = CASE WHEN NEW.type = 'run.started' THEN excluded.pipeline ELSE runs.pipeline END,
    status = excluded.status,
    updated_at = max(runs.updated_at, excluded.updated_at),
    deadline = excluded.deadline;
END;`

const schema = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'running',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  snapshot TEXT,
  deadline INTEGER
) STRICT;
CREATE TABLE IF NOT EXISTS journal (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_update ON runs (updated_at);
CREATE TRIGGER IF NOT EXISTS ${runStatusTrigger}
`

/**
 * A journal in a SQLite database (`node:sqlite`, WAL mode): runs survive the process, and a run
 * paused on a human step can be decided later, from another process.
 *
 * Several processes on one machine may share the file (a `worker()` beside CLI `decide`s, or
 * several workers): `claim(runId)` lets one of them execute a run at a time. A claim is a row
 * naming its process (host name, boot id, pid and the process's start time), taken in `BEGIN
 * IMMEDIATE`; it holds until released or until that process is gone, when the next claim takes it
 * over. Nothing is leased or renewed, so there is no timeout to tune. One machine only:
 * processes on different hosts sharing the file over a network file system are not supported
 * (SQLite's own locking is not safe there), and a claim row from another host name is never taken
 * over, since its process cannot be checked from here (delete a vanished host's rows by hand:
 * `DELETE FROM claims WHERE host = '…'`). Processes sharing the file must see each other's pids:
 * containers need a shared PID namespace or distinct host names. Without `/proc` (macOS) only the
 * pid is checked, so a reused pid keeps a dead process's claim until that process exits too.
 *
 * An unusable `path` (a directory that cannot be created, a file that cannot be opened or is not
 * a database) throws a {@link SqliteOpenError} naming the path and the cause.
 *
 * @example
 * const journal = sqliteJournal({ path: ".switchboard/runs.db" })
 * const paused = await triage.run({ ticket }, { models, journal })
 * // later, maybe in another process:
 * await triage.decide(paused.runId, "review", { approve: true }, { models, journal: sqliteJournal({ path: ".switchboard/runs.db" }) })
 */
export const sqliteJournal = (options: SqliteJournalOptions): SqliteJournal => {
  const database = openSqlite("sqliteJournal", options.path, options, (opened) => {
    opened.exec("PRAGMA synchronous = NORMAL")
    opened.exec(schema)
    addDeadlines(opened)
    addPositions(opened)
    opened.exec(claimsSchema)
  })
  const statements = prepare(database)
  const claims = sqliteClaims(database, `sqliteJournal ${options.path}`)
  const tails = sqliteTails(database, Math.max(1, options.tailPollMs ?? 50))

  return withCodec<SqliteJournal>(options.codec, {
    label: `sqlite ${options.path}`,
    path: options.path,
    append(entry) {
      const { type, runId, at, seq, ...data } = entry
      let written
      try {
        written = statements.append.run({ runId, seq, type, at, data: serialize(entry, data) })
      } catch (error) {
        // Another process won the race for this seq between the guard and the insert.
        if (/UNIQUE constraint failed/.test(String(error))) throw new JournalConflictError(runId, seq)
        throw error
      }
      if (written.changes === 1) {
        tails.appended()
        return
      }
      // Refused by the sequence guard: say which seq the run expected.
      const expected = Number(statements.nextSeq.get({ runId })?.next ?? 0)
      if (seq < expected) throw new JournalConflictError(runId, seq, `next is ${expected}`)
      throw new Error(`journal for run ${runId}: expected seq ${expected}, got ${seq}`)
    },
    read: async (runId) =>
      statements.read.all({ runId }).map((row) => {
        const seq = Number(row.seq)
        const type = String(row.type)
        return entryOfRow(runId, { seq, type, at: Number(row.at), data: parseStored(runId, seq, `${type} row`, String(row.data)) })
      }),
    saveSnapshot(runId, snapshot) {
      statements.saveSnapshot.run({ runId, snapshot: JSON.stringify(snapshot) ?? null, now: Date.now() })
    },
    loadSnapshot: async (runId) => {
      const snapshot = statements.loadSnapshot.get({ runId })?.snapshot
      return typeof snapshot === "string" ? parseStored(runId, undefined, "snapshot", snapshot) : undefined
    },
    claim: claims.claim,
    tail: tails.tail,
    runs: () => {
      const ownerOf = claims.owners()
      return statements.runs.all().map((row) => {
        const owner = ownerOf(row)
        return {
          runId: String(row.run_id),
          pipeline: String(row.pipeline),
          status: String(row.status) as RunStatus,
          updatedAt: Number(row.updated_at),
          ...(row.deadline === null || row.deadline === undefined ? {} : { deadline: Number(row.deadline) }),
          ...(owner === undefined ? {} : { owner }),
        }
      })
    },
    close: () => {
      if (!database.isOpen) return
      tails.close()
      claims.close()
      database.close()
    },
  })
}

const prepare = (database: DatabaseSync): Record<"append" | "nextSeq" | "read" | "saveSnapshot" | "loadSnapshot" | "runs", StatementSync> => ({
  // One statement: the row goes in only at the run's next seq, so a gap or a repeat is refused
  // atomically even with other processes writing; the primary key is the last line of defence.
  append: database.prepare(`
    INSERT INTO journal (run_id, seq, type, at, data)
    SELECT :runId, :seq, :type, :at, :data
    WHERE :seq = (SELECT coalesce(max(seq) + 1, 0) FROM journal WHERE run_id = :runId)`),
  nextSeq: database.prepare("SELECT coalesce(max(seq) + 1, 0) AS next FROM journal WHERE run_id = :runId"),
  read: database.prepare("SELECT seq, type, at, data FROM journal WHERE run_id = :runId ORDER BY seq"),
  saveSnapshot: database.prepare(`
    INSERT INTO runs (run_id, created_at, updated_at, snapshot) VALUES (:runId, :now, :now, :snapshot)
    ON CONFLICT (run_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = max(runs.updated_at, excluded.updated_at)`),
  loadSnapshot: database.prepare("SELECT snapshot FROM runs WHERE run_id = :runId"),
  // With each run's claim row, if any: whether its process still lives is checked in JS.
  runs: database.prepare(`
    SELECT runs.run_id, pipeline, status, updated_at, runs.deadline, claims.host, claims.boot, claims.pid, claims.started
    FROM runs LEFT JOIN claims ON claims.run_id = runs.run_id ORDER BY updated_at DESC, runs.run_id`),
})

const serialize = (entry: JournalEntry, data: object): string => {
  try {
    return JSON.stringify(data)
  } catch (error) {
    throw new Error(`journal for run ${entry.runId}: event ${entry.seq} (${entry.type}) is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/**
 * Brings a database written before runs had a `deadline` up to date: adds the column, replaces the
 * trigger that keeps it, and fills it in for the runs waiting now. `CREATE ... IF NOT EXISTS` does
 * neither to an existing table; `BEGIN IMMEDIATE` makes two processes opening the file at once
 * migrate it one after the other.
 */
const addDeadlines = (database: DatabaseSync): void => {
  const hasDeadline = () => database.prepare("SELECT 1 AS found FROM pragma_table_info('runs') WHERE name = 'deadline'").get() !== undefined
  if (hasDeadline()) return
  database.exec("BEGIN IMMEDIATE")
  try {
    if (!hasDeadline()) {
      database.exec(`
ALTER TABLE runs ADD COLUMN deadline INTEGER;
DROP TRIGGER IF EXISTS journal_run_status;
CREATE TRIGGER ${runStatusTrigger}
UPDATE runs SET deadline = (
  SELECT CAST(json_extract(data, '$.deadline') AS INTEGER) + (json_extract(data, '$.deadline') > CAST(json_extract(data, '$.deadline') AS INTEGER))
  FROM journal WHERE journal.run_id = runs.run_id AND journal.type = 'human.waiting' ORDER BY seq DESC LIMIT 1
) WHERE status = 'awaiting-human';`)
    }
    database.exec("COMMIT")
  } catch (error) {
    database.exec("ROLLBACK")
    throw error
  }
}
