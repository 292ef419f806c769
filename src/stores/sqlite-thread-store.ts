import { dirname } from "node:path"
import type { DatabaseSync } from "node:sqlite"
import type { Message } from "../contract/model.ts"
import { checkThreadId, type ThreadStore } from "../contract/thread.ts"
import { ensureDirectory } from "./sqlite-open.ts"

/**
 * A thread store in a SQLite database that must be closed when done.
 *
 * @example
 * const threads: SqliteThreadStore = sqliteThreadStore(":memory:")
 * threads.close()
 */
export interface SqliteThreadStore extends ThreadStore {
  readonly path: string
  /** Closes the database; the store cannot be used afterwards. */
  close(): void
}

// One row per run that updated a thread: the primary key makes a second save of the same run a
// no-op inside SQLite, and an append is one INSERT the size of that run's messages.
const schema = `
CREATE TABLE IF NOT EXISTS thread_updates (
  thread_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  messages TEXT NOT NULL,
  facts TEXT NOT NULL,
  PRIMARY KEY (thread_id, run_id)
) STRICT;
`

/**
 * Threads in a SQLite database (`node:sqlite`, WAL mode), in their own table: the same file as a
 * `sqliteJournal` works. Loading a thread folds its updates in the order they were saved.
 *
 * @example
 * const threads = sqliteThreadStore(".switchboard/runs.db")
 * await chat.run({ message: "Hi" }, { models, journal: sqliteJournal({ path: ".switchboard/runs.db" }), threadId: "customer-42", threads })
 */
export const sqliteThreadStore = (path: string, options: { readonly busyTimeoutMs?: number } = {}): SqliteThreadStore => {
  const sqlite = process.getBuiltinModule?.("node:sqlite") as typeof import("node:sqlite") | undefined
  if (sqlite === undefined) throw new Error(`sqliteThreadStore needs node:sqlite (Node >= 22.13); this is Node ${process.versions.node}`)
  if (path !== ":memory:" && !path.startsWith("file:")) ensureDirectory(dirname(path))
  const database: DatabaseSync = new sqlite.DatabaseSync(path)
  try {
    database.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
    database.exec("PRAGMA journal_mode = WAL")
    database.exec(schema)
  } catch (error) {
    database.close()
    throw error
  }
  // rowid keeps the order updates were saved in (the table has a rowid: no WITHOUT ROWID).
  const read = database.prepare("SELECT messages, facts FROM thread_updates WHERE thread_id = :threadId ORDER BY rowid")
  const insert = database.prepare(
    "INSERT INTO thread_updates (thread_id, run_id, at, messages, facts) VALUES (:threadId, :runId, :at, :messages, :facts) ON CONFLICT (thread_id, run_id) DO NOTHING",
  )
  return {
    path,
    load: async (threadId) => {
      checkThreadId(threadId, "sqliteThreadStore.load")
      const messages: Message[] = []
      const facts: Record<string, unknown> = {}
      for (const row of read.all({ threadId })) {
        messages.push(...(JSON.parse(String(row.messages)) as Message[]))
        Object.assign(facts, JSON.parse(String(row.facts)) as Record<string, unknown>)
      }
      return { id: threadId, messages, facts }
    },
    append: async (threadId, update) => {
      checkThreadId(threadId, "sqliteThreadStore.append")
      insert.run({ threadId, runId: update.runId, at: Date.now(), messages: JSON.stringify(update.messages), facts: JSON.stringify(update.facts) })
    },
    close: () => {
      if (database.isOpen) database.close()
    },
  }
}
