import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import type { DatabaseSync, StatementSync } from "node:sqlite"
import type { RunStatus } from "../contract/events.ts"
import { type Journal, JournalConflictError, type JournalEntry, type RunSummary } from "../contract/journal.ts"

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
  runs(): readonly RunSummary[]
  /** Closes the database; the journal cannot be used afterwards. */
  close(): void
}

// Lifecycle events keep `runs` current from inside SQLite, so an append stays one INSERT.
const schema = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'running',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  snapshot TEXT
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
CREATE TRIGGER IF NOT EXISTS journal_run_status AFTER INSERT ON journal
WHEN NEW.type IN ('run.started', 'human.waiting', 'human.decided', 'run.finished')
BEGIN
  INSERT INTO runs (run_id, pipeline, status, created_at, updated_at)
  VALUES (
    NEW.run_id,
    coalesce(json_extract(NEW.data, '$.pipeline'), ''),
    CASE NEW.type
      WHEN 'human.waiting' THEN 'awaiting-human'
      WHEN 'run.finished' THEN json_extract(NEW.data, '$.status')
      ELSE 'running'
    END,
    NEW.at,
    NEW.at
  )
  ON CONFLICT (run_id) DO UPDATE SET
    pipeline = CASE WHEN NEW.type = 'run.started' THEN excluded.pipeline ELSE runs.pipeline END,
    status = excluded.status,
    updated_at = max(runs.updated_at, excluded.updated_at);
END;
`

const loadSqlite = (): typeof import("node:sqlite") => {
  // Loaded on first use, so importing switchboard never loads SQLite.
  const sqlite = process.getBuiltinModule?.("node:sqlite") as typeof import("node:sqlite") | undefined
  if (sqlite === undefined) throw new Error(`sqliteJournal needs node:sqlite (Node >= 22.13); this is Node ${process.versions.node}`)
  return sqlite
}

/**
 * A journal in a SQLite database (`node:sqlite`, WAL mode): runs survive the process, and a run
 * paused on a human step can be decided later, from another process.
 *
 * @example
 * const journal = sqliteJournal({ path: ".switchboard/runs.db" })
 * const paused = await triage.run({ ticket }, { models, journal })
 * // later, maybe in another process:
 * await triage.decide(paused.runId, "review", { approve: true }, { models, journal: sqliteJournal({ path: ".switchboard/runs.db" }) })
 */
export const sqliteJournal = (options: SqliteJournalOptions): SqliteJournal => {
  const { DatabaseSync: Database } = loadSqlite()
  if (options.path !== ":memory:" && !options.path.startsWith("file:")) mkdirSync(dirname(options.path), { recursive: true })
  const database: DatabaseSync = new Database(options.path)
  try {
    database.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
    database.exec("PRAGMA journal_mode = WAL")
    database.exec("PRAGMA synchronous = NORMAL")
    database.exec(schema)
  } catch (error) {
    database.close()
    throw error
  }
  const statements = prepare(database)

  return {
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
      if (written.changes === 1) return
      // Refused by the sequence guard: say which seq the run expected.
      const expected = Number(statements.nextSeq.get({ runId })?.next ?? 0)
      if (seq < expected) throw new JournalConflictError(runId, seq, `next is ${expected}`)
      throw new Error(`journal for run ${runId}: expected seq ${expected}, got ${seq}`)
    },
    read: async (runId) =>
      statements.read.all({ runId }).map(
        (row) =>
          ({
            type: row.type,
            runId,
            ...(JSON.parse(String(row.data)) as object),
            at: Number(row.at),
            seq: Number(row.seq),
          }) as JournalEntry,
      ),
    saveSnapshot(runId, snapshot) {
      statements.saveSnapshot.run({ runId, snapshot: JSON.stringify(snapshot) ?? null, now: Date.now() })
    },
    loadSnapshot: async (runId) => {
      const snapshot = statements.loadSnapshot.get({ runId })?.snapshot
      return typeof snapshot === "string" ? JSON.parse(snapshot) : undefined
    },
    runs: () =>
      statements.runs.all().map((row) => ({
        runId: String(row.run_id),
        pipeline: String(row.pipeline),
        status: String(row.status) as RunStatus,
        updatedAt: Number(row.updated_at),
      })),
    close: () => {
      if (database.isOpen) database.close()
    },
  }
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
  runs: database.prepare("SELECT run_id, pipeline, status, updated_at FROM runs ORDER BY updated_at DESC, run_id"),
})

const serialize = (entry: JournalEntry, data: object): string => {
  try {
    return JSON.stringify(data)
  } catch (error) {
    throw new Error(`journal for run ${entry.runId}: event ${entry.seq} (${entry.type}) is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
