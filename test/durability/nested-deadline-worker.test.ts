// Waits inside fan-out have deadlines too: a run paused on two reviews, each inside its own
// sub-pipeline of a map item, by a process that then exits; with only `switchboard worker` alive,
// each review takes its timeout route inside its item, and the run ends done.
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type JournalEntry, postgresJournal, sqliteJournal } from "../../src/index.ts"
import { type Running, removeTemporaryFolders, startCli, temporaryFolder } from "../cli/run-cli.ts"
import { dropSchemas, freshSchema, locatePostgres } from "../stores/postgres.ts"

const server = await locatePostgres()
const schemas: string[] = []

const fixture = "test/durability/fixtures/nested-deadline.pipeline.ts"
const running = new Set<Running>()
afterEach(async () => {
  for (const process of running) process.child.kill("SIGKILL")
  running.clear()
  removeTemporaryFolders()
  if (server.available) await dropSchemas(server.url, schemas.splice(0))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const until = async (probe: () => boolean | Promise<boolean>, what: string, timeoutMs: number) => {
  const giveUp = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > giveUp) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

// `switchboard run` pauses the run and exits; a worker already running takes each item's timeout route.
const pausedThenExpired = async (journal: string, read: (runId: string) => Promise<readonly JournalEntry[]>) => {
  const worker = startCli(["worker", fixture, "--journal", journal])
  running.add(worker)
  await until(() => worker.stderr().includes("executing runs of") || worker.child.exitCode !== null, "the worker to start", 20_000)
  const paused = await startCli(["run", fixture, "--input", '{"amounts":[5,7]}', "--journal", journal, "--json"]).finished
  expect(paused.code).toBe(3)
  const { runId, pending } = JSON.parse(paused.stdout) as { runId: string; pending: Array<{ path: string; deadline: number }> }
  expect(pending.map((wait) => wait.path)).toEqual(["each[0].review", "each[1].review"])
  await until(async () => (await read(runId)).some((entry) => entry.type === "run.finished"), "the timeout routes", 10_000)
  const entries = await read(runId)
  expect(entries.filter((entry) => entry.type === "human.expired").map((entry) => entry.type === "human.expired" && entry.step)).toEqual([
    "each[0].review",
    "each[1].review",
  ])
  // Each expired at (not before) its own deadline, within about a second of the later one.
  const deadlines = new Map(pending.map((wait) => [wait.path, wait.deadline]))
  for (const entry of entries) {
    if (entry.type !== "human.expired") continue
    expect(entry.at).toBeGreaterThanOrEqual(deadlines.get(entry.step) as number)
    expect(entry.at - Math.max(...deadlines.values())).toBeLessThan(1_500)
  }
  expect(entries.find((entry) => entry.type === "step.finished" && entry.step === "each")).toMatchObject({ output: ["escalated 5", "escalated 7"] })
  expect(entries.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
}

describe("deadlines inside fan-out with only a worker alive", () => {
  it("SQLite: takes each item's timeout route inside its sub-pipeline", async () => {
    const database = join(temporaryFolder(), "runs.db")
    const journal = sqliteJournal({ path: database })
    try {
      await pausedThenExpired(`sqlite:${database}`, (runId) => journal.read(runId))
    } finally {
      journal.close()
    }
  }, 40_000)

  it.skipIf(!server.available)(
    `Postgres: takes each item's timeout route inside its sub-pipeline${server.available ? "" : " (skipped: no server)"}`,
    async () => {
      if (!server.available) return
      const schema = freshSchema()
      schemas.push(schema)
      const journal = postgresJournal({ connectionString: server.url, schema, connectTimeoutMs: 2000 })
      try {
        await pausedThenExpired(`postgres:${server.url}#${schema}`, (runId) => journal.read(runId))
      } finally {
        await journal.close()
      }
    },
    40_000,
  )
})
