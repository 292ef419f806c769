// The SQLite journal's cursor: a journal-wide position per entry, and a cheap watch for writes by
// other processes (SQLite has no notifications: `PRAGMA data_version` changes when another
// connection commits, so a tail reads again only then, or at once after this journal's own append).
import type { DatabaseSync } from "node:sqlite"
import type { JournalTailOptions, TailedEntry } from "../contract/journal.ts"
import { entryOfRow, parseStored } from "../contract/journal-check.ts"
import { tailJournal } from "./journal-tail.ts"

// The journal table is WITHOUT ROWID (keyed by run and seq), so positions live beside it, one row
// per entry, numbered by AUTOINCREMENT in commit order (SQLite has one writer at a time).
const positionsSchema = `
CREATE TABLE IF NOT EXISTS journal_positions (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  UNIQUE (run_id, seq)
) STRICT;
CREATE TRIGGER IF NOT EXISTS journal_position AFTER INSERT ON journal
BEGIN
  INSERT INTO journal_positions (run_id, seq) VALUES (NEW.run_id, NEW.seq);
END;`

/**
 * Gives a journal database its positions table, numbering the entries written before it existed
 * in time order, inside `BEGIN IMMEDIATE` so two processes opening an old file do it once.
 *
 * @example
 * addPositions(database)
 */
export const addPositions = (database: DatabaseSync): void => {
  const hasPositions = () => database.prepare("SELECT 1 AS found FROM sqlite_master WHERE type = 'trigger' AND name = 'journal_position'").get() !== undefined
  if (hasPositions()) return
  database.exec("BEGIN IMMEDIATE")
  try {
    if (!hasPositions()) {
      database.exec(positionsSchema)
      database.exec(`INSERT OR IGNORE INTO journal_positions (run_id, seq) SELECT run_id, seq FROM journal ORDER BY at, run_id, seq`)
    }
    database.exec("COMMIT")
  } catch (error) {
    database.exec("ROLLBACK")
    throw error
  }
}

/**
 * The tails of one SQLite journal: `tail(options)` for the journal, `appended()` after each of
 * its own appends, `close()` before the database closes (ending every tail).
 *
 * @example
 * const tails = sqliteTails(database, "sqlite ./runs.db", 50)
 * for await (const entry of tails.tail({ runId })) console.log(entry.seq)
 */
export const sqliteTails = (database: DatabaseSync, pollMs: number) => {
  const ofRun = database.prepare(`
    SELECT journal.seq, journal.type, journal.at, journal.data, journal_positions.position FROM journal
    JOIN journal_positions ON journal_positions.run_id = journal.run_id AND journal_positions.seq = journal.seq
    WHERE journal.run_id = :runId AND journal.seq > :afterSeq AND journal_positions.position > :afterPosition
    ORDER BY journal.seq LIMIT :limit`)
  const ofAll = database.prepare(`
    SELECT journal_positions.position, journal.run_id, journal.seq, journal.type, journal.at, journal.data FROM journal_positions
    JOIN journal ON journal.run_id = journal_positions.run_id AND journal.seq = journal_positions.seq
    WHERE journal_positions.position > :afterPosition ORDER BY journal_positions.position LIMIT :limit`)
  const dataVersion = database.prepare("PRAGMA data_version")
  const wakes = new Set<() => void>()
  let closed = false
  let watch: ReturnType<typeof setInterval> | undefined
  let version: unknown
  const wakeAll = () => {
    for (const wake of wakes) wake()
  }
  // One timer for all of this journal's tails, running only while there are some.
  const watchOthers = () => {
    version = dataVersion.get()?.data_version
    watch = setInterval(() => {
      if (closed || !database.isOpen) return
      const now = dataVersion.get()?.data_version
      if (now === version) return
      version = now
      wakeAll()
    }, pollMs)
  }
  const toEntry = (runId: string, row: Record<string, unknown>): TailedEntry => {
    const seq = Number(row.seq)
    const type = String(row.type)
    const entry = entryOfRow(runId, { seq, type, at: Number(row.at), data: parseStored(runId, seq, `${type} row`, String(row.data)) })
    return { ...entry, position: Number(row.position) }
  }
  return {
    tail: (options?: JournalTailOptions): AsyncIterable<TailedEntry> =>
      tailJournal(options, {
        page: (cursor, limit) =>
          cursor.runId === undefined
            ? ofAll.all({ afterPosition: cursor.afterPosition, limit }).map((row) => toEntry(String(row.run_id), row))
            : ofRun
                .all({ runId: cursor.runId, afterSeq: cursor.afterSeq, afterPosition: cursor.afterPosition, limit })
                .map((row) => toEntry(cursor.runId ?? "", row)),
        subscribe: (wake) => {
          wakes.add(wake)
          if (watch === undefined) watchOthers()
          return () => {
            wakes.delete(wake)
            if (wakes.size > 0) return
            clearInterval(watch)
            watch = undefined
          }
        },
        closed: () => closed,
        // The watch wakes the tail; this only bounds a sleep.
        pollMs: 60_000,
      }),
    appended: wakeAll,
    close: () => {
      closed = true
      clearInterval(watch)
      watch = undefined
      wakeAll()
    },
  }
}
