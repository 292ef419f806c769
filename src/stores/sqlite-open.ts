import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"
import type { DatabaseSync } from "node:sqlite"

/**
 * A SQLite store could not be opened: its directory cannot be created, its file cannot be opened
 * or is not a database, or its schema cannot be written. `path` is what was asked for; `cause`
 * is the underlying error.
 *
 * @example
 * try { sqliteJournal({ path: "/proc/nope/runs.db" }) } catch (error) { if (error instanceof SqliteOpenError) console.error(error.path) }
 */
export class SqliteOpenError extends Error {
  override readonly name = "SqliteOpenError"
  readonly path: string
  constructor(what: string, path: string, problem: string, cause: unknown) {
    super(`${what}: cannot open ${path}: ${problem}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.path = path
  }
}

/**
 * Creates `directory` and its missing parents, from the top down, one mkdir each; throws the
 * first refusal. Not mkdirSync's `recursive`: on Node 24 it retries forever where a directory
 * exists but refuses children with ENOENT (`/proc`).
 *
 * @example
 * ensureDirectory(dirname(".switchboard/runs.db"))
 */
export const ensureDirectory = (directory: string): void => {
  const missing: string[] = []
  let current = resolve(directory)
  for (; !existsSync(current) && dirname(current) !== current; current = dirname(current)) missing.push(current)
  if (existsSync(current) && !statSync(current).isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${current} is not a directory`), { code: "ENOTDIR" })
  for (const each of missing.reverse()) {
    try {
      mkdirSync(each)
    } catch (error) {
      // Another process created it meanwhile.
      if ((error as { code?: unknown }).code !== "EEXIST") throw error
    }
  }
}

// SQLite says only "unable to open database file": name the likely reason where the file system tells.
const whyUnopenable = (path: string): string => {
  try {
    if (statSync(path).isDirectory()) return " (it is a directory)"
    accessSync(path, constants.R_OK | constants.W_OK)
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === "ENOENT") {
      try {
        accessSync(dirname(path), constants.W_OK)
      } catch {
        return ` (its directory ${dirname(path)} is not writable)`
      }
    } else if (typeof code === "string") return ` (${code})`
  }
  return ""
}

/**
 * Opens a SQLite database in WAL mode for a store (`what` names it in errors), creating its
 * parent directories, and runs `setup` on it; any failure closes it and throws a
 * {@link SqliteOpenError} at once.
 *
 * @example
 * const database = openSqlite("sqliteJournal", ".switchboard/runs.db", { busyTimeoutMs: 5000 }, (db) => db.exec(schema))
 */
export const openSqlite = (what: string, path: string, options: { readonly busyTimeoutMs?: number }, setup: (database: DatabaseSync) => void): DatabaseSync => {
  // Loaded on first use, so importing switchboard never loads SQLite.
  const sqlite = process.getBuiltinModule?.("node:sqlite") as typeof import("node:sqlite") | undefined
  if (sqlite === undefined) throw new Error(`${what} needs node:sqlite (Node >= 22.13); this is Node ${process.versions.node}`)
  if (path !== ":memory:" && !path.startsWith("file:")) {
    try {
      ensureDirectory(dirname(path))
    } catch (error) {
      throw new SqliteOpenError(what, path, `cannot create its directory ${dirname(path)}`, error)
    }
  }
  let database: DatabaseSync
  try {
    database = new sqlite.DatabaseSync(path)
  } catch (error) {
    throw new SqliteOpenError(what, path, `cannot open the database file${whyUnopenable(path)}`, error)
  }
  try {
    database.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000))}`)
    database.exec("PRAGMA journal_mode = WAL")
    setup(database)
  } catch (error) {
    database.close()
    throw new SqliteOpenError(what, path, "cannot prepare the database", error)
  }
  return database
}
