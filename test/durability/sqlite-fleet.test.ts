// A fleet on one SQLite file: two OS processes share the database (a worker beside a process that
// decides and resumes runs, then two workers that each also decide) and are killed with SIGKILL at
// random moments. When every run is done, nothing may be lost, re-run after finishing, executed
// twice at once, decided twice or corrupt, and the non-idempotent tool's effect may repeat only
// where a kill excuses it.
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type JournalEntry, sqliteJournal } from "../../src/index.ts"
import { afterProgress, kill, killAll, sleep, startWorker } from "./crash-support.ts"
import { countFleet } from "./sqlite-fleet-checks.ts"
import { fleet } from "./sqlite-fleet-process.ts"

const script = new URL("./sqlite-fleet-process.ts", import.meta.url).pathname
const folders: string[] = []
afterEach(() => {
  killAll()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** What one process of the fleet does: `"worker"`, `"decider"` (decides and resumes runs) or `"worker,decider"`. */
type Roles = "worker" | "decider" | "worker,decider"

// A process that already exited (it would have logged why) must not be waited on forever.
const stop = (child: ChildProcess) => (child.exitCode === null && child.signalCode === null ? kill(child) : Promise.resolve())

/** Keeps one process per role alive while submitting `runs` runs in `kills` batches, killing a random process in each batch, then waits for every run to finish. */
const attack = async (roles: readonly [Roles, Roles], runs: number, kills: number) => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-fleet-"))
  folders.push(folder)
  const path = join(folder, "runs.db")
  const journal = sqliteJournal({ path })
  const review = roles.some((role) => role.includes("decider"))
  const submitted = new Map<string, boolean>()
  const submit = async (count: number) => {
    for (let index = 0; index < count && submitted.size < runs; index++) {
      // With a decider, two runs in three wait on a person, who decides from the other process.
      const needsReview = review && submitted.size % 3 !== 0
      submitted.set(await fleet.submit({ amount: submitted.size, review: needsReview }, { journal }), needsReview)
    }
  }
  const start = (role: Roles) => startWorker(path, folder, { ...process.env, FLEET_ROLES: role }, script)
  const processes: ChildProcess[] = await Promise.all(roles.map(start))
  const killedAt = new Map<number, number>()
  const batch = Math.ceil(runs / kills)
  for (let round = 0; round < kills; round++) {
    // Each kill lands while the batch just submitted is in flight (each run starts three steps).
    await submit(batch)
    await afterProgress(folder, 1 + Math.floor(Math.random() * batch * 2), 5_000)
    const slot = Math.floor(Math.random() * processes.length)
    const victim = processes[slot] as ChildProcess
    killedAt.set(victim.pid ?? -1, Date.now())
    await stop(victim)
    processes[slot] = await start(roles[slot] as Roles)
  }
  const deadline = Date.now() + 30_000
  while (journal.runs().some((run) => run.status !== "done")) {
    if (Date.now() > deadline) break
    await sleep(50)
  }
  await Promise.all(processes.map(stop))
  const journals = new Map<string, { review: boolean; entries: readonly JournalEntry[] | undefined }>()
  for (const [runId, needsReview] of submitted) {
    journals.set(runId, { review: needsReview, entries: await journal.read(runId).catch(() => undefined) })
  }
  journal.close()
  return countFleet(journals, folder, killedAt)
}

const clean = {
  lost: 0,
  corrupt: 0,
  finishedStepsRerun: 0,
  concurrentExecutions: 0,
  duplicateEffects: 0,
  doubleDecisions: 0,
  healthyRunsReportedFailed: 0,
  unexpectedErrors: 0,
}

describe("a fleet on one SQLite file under kill -9", () => {
  it("a worker beside a deciding and resuming process: 100 runs, 12 kills, nothing lost, doubled or re-run", async () => {
    const { problems, restarts, ...counts } = await attack(["worker", "decider"], 100, 12)
    expect({ ...counts, problems: problems.slice(0, 10) }).toEqual({ ...clean, problems: [] })
    // The kills landed mid-step (steps started again after a kill), so the test tested something.
    expect(restarts).toBeGreaterThan(0)
  }, 60_000)

  // Each process also decides and resumes, through a second journal on the file: its own claims must refuse it too.
  it("two workers, each also deciding: 100 runs, 12 kills, nothing lost, doubled or re-run", async () => {
    const { problems, restarts, ...counts } = await attack(["worker,decider", "worker,decider"], 100, 12)
    expect({ ...counts, problems: problems.slice(0, 10) }).toEqual({ ...clean, problems: [] })
    expect(restarts).toBeGreaterThan(0)
  }, 60_000)
})
