// Claims on a SQLite journal: one executor per run among the processes of one machine, a dead
// process's claim taken over without a lease, and a reused pid never mistaken for the holder.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { promisify } from "node:util"
import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { fn, human, pipeline, ResumeError, type SqliteJournal, SqliteOpenError, sqliteJournal, worker } from "../../src/index.ts"
import { started } from "./journal-contract.ts"

const holderScript = new URL("../durability/sqlite-fleet-holder.ts", import.meta.url).pathname
const folders: string[] = []
const journals: SqliteJournal[] = []
const children = new Set<ChildProcess>()

const temporaryPath = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-claim-"))
  folders.push(folder)
  return join(folder, "runs.db")
}
const open = (path: string) => {
  const journal = sqliteJournal({ path })
  journals.push(journal)
  return journal
}

/** A process that claims `runIds` on the database at `path` and holds them until killed. */
const holder = (path: string, runIds: readonly string[]): Promise<{ child: ChildProcess; claimed: Record<string, boolean> }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [holderScript, path, ...runIds], { stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    let errors = ""
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    child.stdout?.once("data", (chunk: Buffer) => resolve({ child, claimed: JSON.parse(chunk.toString()) }))
    child.once("exit", (code) => reject(new Error(`the claim holder exited ${code}: ${errors}`)))
  })
const killed = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGKILL")
  await exited
  children.delete(child)
}

afterEach(() => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
  for (const journal of journals.splice(0)) journal.close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** Rewrites the claim row of `runId` behind the journal's back, as another process's row would look. */
const forge = (path: string, runId: string, columns: Record<string, string | number>) => {
  const database = new DatabaseSync(path)
  try {
    const set = Object.keys(columns)
      .map((column) => `${column} = :${column}`)
      .join(", ")
    const { changes } = database.prepare(`UPDATE claims SET ${set} WHERE run_id = :runId`).run({ ...columns, runId })
    expect(changes).toBe(1)
  } finally {
    database.close()
  }
}

describe("sqliteJournal claims", () => {
  it("refuses a held run to any journal of this process until it is released, then grants it again", async () => {
    const path = temporaryPath()
    const first = open(path)
    const second = open(path)
    const claim = await first.claim("r1")
    expect(claim).toBeDefined()
    expect(await first.claim("r1")).toBeUndefined()
    expect(await second.claim("r1")).toBeUndefined()
    // Another run is not affected.
    expect(await second.claim("r2")).toBeDefined()
    await claim?.release()
    const again = await second.claim("r1")
    expect(again).toBeDefined()
    expect(again?.signal?.aborted).toBe(false)
  })

  it("lists a held run with its owner, and without one once released", async () => {
    const path = temporaryPath()
    const journal = open(path)
    journal.append(started("r1"))
    const claim = await journal.claim("r1")
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "r1", owner: `${hostname()}:${process.pid}` })])
    await claim?.release()
    expect(journal.runs()[0]).not.toHaveProperty("owner")
    // Releasing twice is harmless and releases nobody else's claim.
    const next = await journal.claim("r1")
    await claim?.release()
    expect(await open(path).claim("r1")).toBeUndefined()
    await next?.release()
  })

  it("refuses a run held by a live process, and takes it over once that process is killed", async () => {
    const path = temporaryPath()
    const journal = open(path)
    journal.append(started("r1"))
    const { child, claimed } = await holder(path, ["r1"])
    expect(claimed).toEqual({ r1: true })
    expect(await journal.claim("r1")).toBeUndefined()
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "r1", owner: `${hostname()}:${child.pid}` })])
    await killed(child)
    // No lease to expire: the holder is gone, so its row is stale at once.
    expect(journal.runs()[0]).not.toHaveProperty("owner")
    const claim = await journal.claim("r1")
    expect(claim).toBeDefined()
    expect(journal.runs()[0]).toMatchObject({ owner: `${hostname()}:${process.pid}` })
  })

  it("takes over a row whose pid is alive but whose start time is not that process's (a reused pid)", async () => {
    const path = temporaryPath()
    const journal = open(path)
    const { child } = await holder(path, ["r1", "r2"])
    // r2 keeps the live holder's real identity: still refused, so the start time is what decides r1.
    forge(path, "r1", { started: "1" })
    expect(await journal.claim("r2")).toBeUndefined()
    expect(await journal.claim("r1")).toBeDefined()
    expect(child.exitCode).toBeNull()
  })

  it("takes over a row of a pid that no longer exists, and never one from another host", async () => {
    const path = temporaryPath()
    const journal = open(path)
    const other = open(path)
    await other.claim("gone")
    await other.claim("elsewhere")
    // Pids above the kernel's pid_max (at most 2^22) never exist.
    forge(path, "gone", { pid: 2 ** 22 + 1 })
    forge(path, "elsewhere", { pid: 2 ** 22 + 1, host: `not-${hostname()}` })
    expect(await journal.claim("gone")).toBeDefined()
    // A process on another machine cannot be checked from here: its claim stands.
    expect(await journal.claim("elsewhere")).toBeUndefined()
  })

  it("deletes the row on release and on close, aborting the signals of claims still held", async () => {
    const path = temporaryPath()
    const journal = sqliteJournal({ path })
    const released = await journal.claim("r1")
    const held = await journal.claim("r2")
    await released?.release()
    expect(released?.signal?.aborted).toBe(false)
    journal.close()
    expect(held?.signal?.aborted).toBe(true)
    const database = new DatabaseSync(path)
    expect(database.prepare("SELECT count(*) AS rows FROM claims").get()).toEqual({ rows: 0 })
    database.close()
    // Released with the journal: nothing left to do, nothing thrown.
    await held?.release()
  })
})

const Review = z.object({ approve: z.boolean() })
const approval = (executed: string[]) =>
  pipeline({ id: "approval", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input, runId }) => {
        executed.push(`${runId}:prepare`)
        return input.amount
      }),
    )
    .step("review", human({ decision: Review }))
    .step(
      "pay",
      fn(({ runId }) => {
        executed.push(`${runId}:pay`)
        return "paid"
      }),
    )
    .edges({ prepare: "review", review: "pay", pay: "done" })

describe("runs held by another process", () => {
  it("resume and decide give the loser ResumeError('claimed'), and leave the run as it was", async () => {
    const path = temporaryPath()
    const journal = open(path)
    const executed: string[] = []
    const paused = await approval(executed).run({ amount: 3 }, { journal })
    expect(paused.status).toBe("awaiting-human")
    const before = await journal.read(paused.runId)
    const { child } = await holder(path, [paused.runId])
    const decided = approval(executed).decide(paused.runId, "review", { approve: true }, { journal })
    await expect(decided).rejects.toBeInstanceOf(ResumeError)
    await expect(decided).rejects.toMatchObject({ reason: "claimed", runId: paused.runId })
    await expect(approval(executed).resume(paused.runId, { journal })).rejects.toMatchObject({ reason: "claimed" })
    expect(await journal.read(paused.runId)).toEqual(before)
    // Once the holder is gone, the same decide goes through.
    await killed(child)
    expect(await approval(executed).decide(paused.runId, "review", { approve: true }, { journal })).toMatchObject({ status: "done", output: "paid" })
    expect(executed).toEqual([`${paused.runId}:prepare`, `${paused.runId}:pay`])
  })

  it("a worker leaves a run held by a live process alone and finishes it once that process dies", async () => {
    const path = temporaryPath()
    const journal = open(path)
    const executed: string[] = []
    const flow = approval(executed)
    const runId = await flow.submit({ amount: 1 }, { journal })
    const { child } = await holder(path, [runId])
    const errors: unknown[] = []
    const running = worker({ journal, pipelines: [flow], pollMs: 10, onError: (_runId, error) => errors.push(error) })
    try {
      // Several polls go by: the run is listed with its owner, so the worker does not even try.
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(executed).toEqual([])
      expect(running.active.size).toBe(0)
      await killed(child)
      await vi.waitFor(() => expect(journal.runs()[0]?.status).toBe("awaiting-human"), { timeout: 5_000 })
      expect(executed).toEqual([`${runId}:prepare`])
      expect(errors).toEqual([])
    } finally {
      await running.stop()
    }
  })
})

describe("sqliteJournal on an unusable path", () => {
  it("fails at once naming the path and the cause where the directory cannot be created (/proc)", async () => {
    // In a child process, bounded: a journal that spins creating the directory must not hang the suite.
    const script = `
      import { sqliteJournal } from ${JSON.stringify(new URL("../../src/index.ts", import.meta.url).pathname)}
      try { sqliteJournal({ path: "/proc/nope/x.db" }); console.log("opened") }
      catch (error) { console.log(JSON.stringify({ name: error.name, path: error.path, message: error.message })) }`
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", script], { timeout: 10_000 })
    const error = JSON.parse(stdout)
    expect(error).toMatchObject({ name: "SqliteOpenError", path: "/proc/nope/x.db" })
    expect(error.message).toMatch(/cannot open \/proc\/nope\/x\.db: cannot create its directory \/proc\/nope: ENOENT/)
  })

  it("names the path where its parent is a file, the file is a directory, or it is not a database", () => {
    const path = temporaryPath()
    writeFileSync(path, "not a database, a text file that happens to be here")
    const cases: Array<[string, RegExp]> = [
      [join(path, "runs.db"), /cannot create its directory .*: ENOTDIR/],
      [join(path, ".."), /cannot open the database file \(it is a directory\): unable to open database file/],
      [path, /cannot prepare the database: file is not a database/],
    ]
    for (const [unusable, cause] of cases) {
      let thrown: unknown
      try {
        sqliteJournal({ path: unusable })
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(SqliteOpenError)
      expect(thrown).toMatchObject({ path: unusable, message: expect.stringContaining(`cannot open ${unusable}`) })
      expect((thrown as Error).message).toMatch(cause)
    }
  })
})
