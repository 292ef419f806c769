import type { DatabaseSync } from "node:sqlite"
import type { ModelCache } from "../contract/model-cache.ts"
import { openSqlite } from "./sqlite-open.ts"

/**
 * A response cache in a SQLite database that must be closed when done.
 *
 * @example
 * const cache: SqliteModelCache = sqliteModelCache(":memory:")
 * cache.close()
 */
export interface SqliteModelCache extends ModelCache {
  readonly path: string
  /** Closes the database; the cache cannot be used afterwards. */
  close(): void
}

// One row per answer; WITHOUT ROWID since the key is the only way in.
const schema = `
CREATE TABLE IF NOT EXISTS model_cache (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`

/**
 * Answers of model calls in a SQLite database (`node:sqlite`, WAL mode), in their own table: the
 * same file as a `sqliteJournal` works. Re-running an evaluation with it calls the model only for
 * requests it has not seen; `version` is part of every key.
 *
 * @example
 * const modelCache = sqliteModelCache(".switchboard/model-cache.db", { version: "v1" })
 * await triage.run({ ticket: "Refund please" }, { models, modelCache })
 * modelCache.close()
 */
export const sqliteModelCache = (path: string, options: { readonly version?: string; readonly busyTimeoutMs?: number } = {}): SqliteModelCache => {
  const database: DatabaseSync = openSqlite("sqliteModelCache", path, { busyTimeoutMs: options.busyTimeoutMs ?? 5000 }, (opened) => opened.exec(schema))
  const read = database.prepare("SELECT value FROM model_cache WHERE key = :key")
  const write = database.prepare(
    "INSERT INTO model_cache (key, value, at) VALUES (:key, :value, :at) ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at",
  )
  return {
    path,
    label: `sqlite ${path}`,
    ...(options.version === undefined ? {} : { version: options.version }),
    get: async (key) => {
      const row = read.get({ key }) as { value?: unknown } | undefined
      // A row some other program wrote (a blob, a number) is not an answer: a miss.
      return typeof row?.value === "string" ? row.value : undefined
    },
    set: async (key, value) => {
      write.run({ key, value, at: Date.now() })
    },
    close: () => database.close(),
  }
}
