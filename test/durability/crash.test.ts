// Kill -9 tests: worker processes execute runs from a durable journal and are killed at random
// moments; when every run is done, nothing may be lost, re-run after finishing, duplicated or corrupt.
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { sqliteJournal } from "../../src/index.ts"
import { afterProgress, checkInvariants, kill, killAll, sleep, startWorker } from "./crash-support.ts"
import { crashy } from "./crash-worker.ts"

const folders: string[] = []
afterEach(() => {
  killAll()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

describe("kill -9 on SQLite: the restarted process finishes every run", () => {
  it("loses nothing, re-runs no finished step, duplicates no effect (30 runs, 3 kills)", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-crash-"))
    folders.push(folder)
    const path = join(folder, "runs.db")
    const journal = sqliteJournal({ path })
    const runIds: string[] = []
    for (let index = 0; index < 30; index++) runIds.push(await crashy.submit({ amount: index }, { journal }))
    const killed = new Set<number>()
    for (let kill_ = 0; kill_ < 3; kill_++) {
      const child = await startWorker(`sqlite:${path}`, folder)
      await afterProgress(folder, 4 + Math.floor(Math.random() * 12))
      killed.add(child.pid ?? -1)
      await kill(child)
    }
    const survivor = await startWorker(`sqlite:${path}`, folder)
    const deadline = Date.now() + 60_000
    while (journal.runs().some((run) => run.status !== "done")) {
      if (Date.now() > deadline) throw new Error(`runs not done: ${JSON.stringify(journal.runs().filter((run) => run.status !== "done"))}`)
      await sleep(50)
    }
    await kill(survivor)
    const journals = new Map(await Promise.all(runIds.map(async (runId) => [runId, await journal.read(runId)] as const)))
    journal.close()
    expect(existsSync(join(folder, "effects.log"))).toBe(true)
    const { problems, reruns } = checkInvariants(journals, folder, killed)
    expect(problems).toEqual([])
    // The kills did land mid-step (steps started again after a kill), so the test tested something.
    expect(reruns).toBeGreaterThan(0)
  }, 120_000)
})
