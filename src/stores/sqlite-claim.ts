import { randomUUID } from "node:crypto"
import { readFileSync } from "node:fs"
import { hostname } from "node:os"
import type { DatabaseSync } from "node:sqlite"
import type { RunClaim } from "../contract/journal.ts"

/**
 * The `claims` table: one row per claimed run, naming the process that holds it closely enough
 * that any process on the same machine can tell whether the holder still lives (pid and start
 * time, so a reused pid does not keep a dead process's claim), without a lease to renew.
 *
 * @example
 * database.exec(claimsSchema)
 */
export const claimsSchema = `
CREATE TABLE IF NOT EXISTS claims (
  run_id TEXT PRIMARY KEY,
  token TEXT NOT NULL,
  host TEXT NOT NULL,
  boot TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started TEXT NOT NULL,
  claimed_at INTEGER NOT NULL
) STRICT;
`

/**
 * A process as a claim row names it: its machine (`host`, and `boot`, the kernel's boot id where
 * Linux has one), its `pid`, and when it started (`started`: clock ticks since boot, field 22 of
 * `/proc/<pid>/stat`; empty where there is no `/proc`).
 *
 * @example
 * const owner: ClaimOwner = { host: "build-1", boot: "", pid: 4242, started: "" }
 */
export interface ClaimOwner {
  readonly host: string
  readonly boot: string
  readonly pid: number
  readonly started: string
}

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch {
    return ""
  }
}

// The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
const processStat = (pid: number): { readonly state: string; readonly started: string } | undefined => {
  const text = readOrEmpty(`/proc/${pid}/stat`)
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
  if (text === "" || fields.length < 20) return undefined
  return { state: fields[0] ?? "", started: fields[19] ?? "" }
}

let current: ClaimOwner | undefined
/**
 * This process as its claim rows name it.
 *
 * @example
 * const { pid } = thisProcess()
 */
export const thisProcess = (): ClaimOwner =>
  (current ??= {
    host: hostname(),
    boot: readOrEmpty("/proc/sys/kernel/random/boot_id"),
    pid: process.pid,
    started: processStat(process.pid)?.started ?? "",
  })

/**
 * Whether the process that `owner` names may still be running, as seen from `here`: a claim is
 * stale only when its process is known to be gone. A process on another host cannot be checked
 * from here, so its claim always stands.
 *
 * @example
 * if (!isLive({ host: hostname(), boot: "", pid: 4242, started: "" })) console.log("process 4242 is gone")
 */
export const isLive = (owner: ClaimOwner, here: ClaimOwner = thisProcess()): boolean => {
  if (owner.host !== here.host) return true
  // The machine restarted since the claim: every process of that boot is gone.
  if (owner.boot !== here.boot) return false
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false
  if (owner.pid === here.pid) return owner.started === here.started
  let otherUser = false
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as { code?: unknown }).code !== "EPERM") return false
    otherUser = true
  }
  // Without /proc the pid is all there is to check.
  if (here.started === "") return true
  const stat = processStat(owner.pid)
  // Another user's process hidden from /proc (hidepid): it exists, and its start time cannot be read.
  if (stat === undefined) return otherUser
  // A zombie ("Z") has exited and holds nothing; a different start time means the pid was reused.
  return stat.state !== "Z" && stat.state !== "X" && stat.started === owner.started
}

const ownerOfRow = (row: Record<string, unknown>): ClaimOwner => ({
  host: String(row.host),
  boot: String(row.boot),
  pid: Number(row.pid),
  started: String(row.started),
})

/**
 * The claims of one SQLite journal connection: `claim` takes a run's row in `BEGIN IMMEDIATE`
 * (replacing a stale one), `ownerOf` names the live holder of a listed run, and `close` releases
 * every claim still held, aborting its signal.
 *
 * @example
 * const claims = sqliteClaims(database, "sqlite ./runs.db")
 * const claim = await claims.claim("r1")
 */
export const sqliteClaims = (database: DatabaseSync, label: string) => {
  const here = thisProcess()
  const select = database.prepare("SELECT host, boot, pid, started FROM claims WHERE run_id = :runId")
  const insert = database.prepare(`
    INSERT OR REPLACE INTO claims (run_id, token, host, boot, pid, started, claimed_at)
    VALUES (:runId, :token, :host, :boot, :pid, :started, :now)`)
  const remove = database.prepare("DELETE FROM claims WHERE run_id = :runId AND token = :token")
  const held = new Map<string, { readonly runId: string; readonly lost: AbortController }>()
  // Rows whose delete failed (the database was busy past its timeout): retried at the next claim and at close.
  const unreleased = new Map<string, string>()

  const forget = (token: string, runId: string) => {
    try {
      remove.run({ runId, token })
      unreleased.delete(token)
    } catch {
      unreleased.set(token, runId)
    }
  }
  const take = (runId: string): string | undefined => {
    for (const [token, unreleasedRun] of unreleased) forget(token, unreleasedRun)
    let began = false
    try {
      // IMMEDIATE takes the write lock first, so two processes never both find the row free.
      database.exec("BEGIN IMMEDIATE")
      began = true
      const row = select.get({ runId })
      if (row !== undefined && isLive(ownerOfRow(row), here)) {
        database.exec("ROLLBACK")
        return undefined
      }
      const token = randomUUID()
      insert.run({ runId, token, host: here.host, boot: here.boot, pid: here.pid, started: here.started, now: Date.now() })
      database.exec("COMMIT")
      return token
    } catch (error) {
      if (began) {
        try {
          database.exec("ROLLBACK")
        } catch {
          // The failure already ended the transaction.
        }
      }
      throw new Error(`${label}: cannot claim run ${runId}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }

  return {
    claim: async (runId: string): Promise<RunClaim | undefined> => {
      const token = take(runId)
      if (token === undefined) return undefined
      const lost = new AbortController()
      held.set(token, { runId, lost })
      return {
        signal: lost.signal,
        release: async () => {
          if (!held.delete(token)) return
          if (database.isOpen) forget(token, runId)
        },
      }
    },
    /** A function naming the live holder of each listed run (`host:pid`), checking each process once. */
    owners: () => {
      const seen = new Map<string, boolean>()
      return (row: Record<string, unknown>): string | undefined => {
        if (row.pid === null || row.pid === undefined) return undefined
        const owner = ownerOfRow(row)
        const key = `${owner.host}:${owner.boot}:${owner.pid}:${owner.started}`
        let live = seen.get(key)
        if (live === undefined) seen.set(key, (live = isLive(owner, here)))
        return live ? `${owner.host}:${owner.pid}` : undefined
      }
    },
    close: () => {
      for (const [token, { runId, lost }] of held) {
        held.delete(token)
        lost.abort(new Error(`${label} was closed`))
        forget(token, runId)
      }
      for (const [token, runId] of unreleased) forget(token, runId)
    },
  }
}
