// --journal postgres:URL[#schema] for run, decide, runs and worker, against the local test server
// (skipped with the reason when there is none; failing under CI).
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { postgresJournal } from "../../src/index.ts"
import { dropSchemas, freshSchema, locatePostgres } from "../stores/postgres.ts"
import { orders } from "./fixtures/orders.pipeline.ts"
import { cli, type Running, removeTemporaryFolders, startCli, temporaryFolder } from "./run-cli.ts"

const server = await locatePostgres()
const schemas: string[] = []
const running = new Set<Running>()
const greeting = "test/cli/fixtures/greeting.pipeline.ts"

afterEach(async () => {
  for (const process of running) process.child.kill("SIGKILL")
  running.clear()
  removeTemporaryFolders()
  if (server.available) await dropSchemas(server.url, schemas.splice(0))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!server.available)(`switchboard on a postgres journal${server.available ? "" : ` (skipped: ${server.reason})`}`, () => {
  it("pauses a run, decides it from another process, and lists it", async () => {
    if (!server.available) return
    const schema = freshSchema()
    schemas.push(schema)
    const journal = `postgres:${server.url}#${schema}`
    const paused = await cli("run", greeting, "--pipeline", "greeting", "--input", '{"name":"Ada","review":true}', "--journal", journal)
    expect(paused.stderr).toBe("")
    expect(paused.code).toBe(3)
    const runId = /awaiting a human decision on review \(run ([0-9a-f-]{36})\)/.exec(paused.stdout)?.[1]
    expect(paused.stdout).toContain(`switchboard decide ${greeting} ${runId} review --decision '<json>' --journal ${journal}`)

    const decided = await cli(
      "decide",
      greeting,
      String(runId),
      "review",
      "--pipeline",
      "greeting",
      "--decision",
      '{"approve":true}',
      "--journal",
      journal,
      "--json",
    )
    expect(decided.stderr).toBe("")
    expect(decided.code).toBe(0)
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: "done", runId, output: { greeting: "HELLO, ADA!" } })

    const listed = await cli("runs", "--journal", journal, "--json")
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId, pipeline: "greeting", status: "done" })])
    const resumed = await cli("resume", greeting, String(runId), "--pipeline", "greeting", "--journal", journal)
    expect(resumed.code).toBe(2)
    expect(resumed.stderr).toMatch(/it has already finished/)
  })

  it("runs a worker on SWITCHBOARD_DATABASE_URL (postgres:#schema) until SIGTERM, one line per run", async () => {
    if (!server.available) return
    const schema = freshSchema()
    schemas.push(schema)
    const effects = join(temporaryFolder(), "effects.log")
    const journal = postgresJournal({ connectionString: server.url, schema })
    const runIds: string[] = []
    try {
      for (const amount of [1, 2, 3]) runIds.push(await orders.submit({ amount }, { journal }))
      const worker = startCli(["worker", "test/cli/fixtures/orders.pipeline.ts", "--journal", `postgres:#${schema}`, "--concurrency", "2"], {
        SWITCHBOARD_DATABASE_URL: server.url,
        ORDERS_EFFECTS: effects,
      })
      running.add(worker)
      const deadline = Date.now() + 30_000
      while ((await journal.runs()).some((run) => run.status !== "done") || worker.stdout().trim().split("\n").length < runIds.length) {
        if (Date.now() > deadline) throw new Error(`runs not done in time: ${JSON.stringify(await journal.runs())}\n${worker.stdout()}${worker.stderr()}`)
        await sleep(50)
      }
      worker.child.kill("SIGTERM")
      const { code, stdout, stderr } = await worker.finished
      running.delete(worker)
      expect(code).toBe(0)
      const lines = stdout.trimEnd().split("\n")
      expect(lines.map((line) => line.split(" ")[0]).sort()).toEqual([...runIds].sort())
      for (const line of lines) expect(line).toMatch(/^\S+ done: output of confirm \(\d+ms\)$/)
      expect(stderr).toContain(`from postgres:#${schema} (concurrency 2)`)
      const keys = existsSync(effects) ? readFileSync(effects, "utf8").trim().split("\n") : []
      expect(keys.sort()).toEqual(runIds.map((runId) => `${runId}:charge:1`).sort())
    } finally {
      await journal.close()
    }
  })
})
