// Kill -9 on Postgres: two workers share one database; killed workers' runs are taken over by
// the survivor (Postgres frees a dead session's advisory locks), with no restart needed.

import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { postgresJournal } from "../../src/index.ts"
import { dropSchemas, freshSchema, locatePostgres } from "../stores/postgres.ts"
import { afterProgress, checkInvariants, kill, killAll, sleep, startWorker } from "./crash-support.ts"
import { crashy } from "./crash-worker.ts"

const server = await locatePostgres()
const folders: string[] = []
const schemas: string[] = []

afterEach(async () => {
  killAll()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
  if (server.available) await dropSchemas(server.url, schemas.splice(0))
})

describe.skipIf(!server.available)(
  `kill -9 on Postgres: a surviving worker takes over${server.available ? "" : ` (skipped: ${server.available ? "" : server.reason})`}`,
  () => {
    it("loses nothing, re-runs no finished step, duplicates no effect (30 runs, 3 kills, 2 workers)", async () => {
      if (!server.available) return
      const folder = mkdtempSync(join(tmpdir(), "switchboard-crash-pg-"))
      folders.push(folder)
      const schema = freshSchema()
      schemas.push(schema)
      const journal = postgresJournal({ connectionString: server.url, schema, connectTimeoutMs: 2000 })
      const env = { ...process.env, SWITCHBOARD_DATABASE_URL: server.url, CRASH_STEP_SCALE: "4" }
      const runIds: string[] = []
      for (let index = 0; index < 30; index++) runIds.push(await crashy.submit({ amount: index }, { journal }))
      const killed = new Set<number>()
      let workers: ChildProcess[] = [await startWorker(`postgres:${schema}`, folder, env), await startWorker(`postgres:${schema}`, folder, env)]
      for (let round = 0; round < 3; round++) {
        await afterProgress(folder, 4 + Math.floor(Math.random() * 12))
        const [victim, other] = round % 2 === 0 ? [workers[0], workers[1]] : [workers[1], workers[0]]
        if (victim === undefined || other === undefined) throw new Error("two workers expected")
        killed.add(victim.pid ?? -1)
        await kill(victim)
        // After the last kill nobody is restarted: the survivor must finish the dead one's runs.
        workers =
          round === 2
            ? [other]
            : round % 2 === 0
              ? [await startWorker(`postgres:${schema}`, folder, env), other]
              : [other, await startWorker(`postgres:${schema}`, folder, env)]
      }
      const deadline = Date.now() + 60_000
      for (;;) {
        const open = (await journal.runs()).filter((run) => run.status !== "done")
        if (open.length === 0) break
        if (Date.now() > deadline) throw new Error(`runs not done: ${JSON.stringify(open)}`)
        await sleep(100)
      }
      for (const survivor of workers) await kill(survivor)
      const journals = new Map(await Promise.all(runIds.map(async (runId) => [runId, await journal.read(runId)] as const)))
      await journal.close()
      const { problems, reruns } = checkInvariants(journals, folder, killed)
      expect(problems).toEqual([])
      expect(reruns).toBeGreaterThan(0)
    }, 120_000)
  },
)
