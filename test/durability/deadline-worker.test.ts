// A run paused on a human step with a deadline, in a process that then exits: with only a worker
// alive, the deadline still fires (the timeout route is taken within about a second of it), on
// SQLite and on Postgres. Plus the worker's scheduling under fake time, and databases written
// before runs had a deadline.
import { join } from "node:path"
import pg from "pg"
import { afterEach, describe, expect, it, vi } from "vitest"
import supportTriage, { samples, scriptedModels } from "../../machines/support-triage.machine.ts"
import { type JournalEntry, memoryJournal, postgresJournal, sqliteJournal, type WorkerJournal, worker } from "../../src/index.ts"
import { type Running, removeTemporaryFolders, startCli, temporaryFolder } from "../cli/run-cli.ts"
import { dropSchemas, freshSchema, locatePostgres } from "../stores/postgres.ts"
import { reviewed } from "./fixtures/deadline.pipeline.ts"

const server = await locatePostgres()
const fixture = "test/durability/fixtures/deadline.pipeline.ts"
const running = new Set<Running>()
const schemas: string[] = []

afterEach(async () => {
  vi.useRealTimers()
  for (const process of running) process.child.kill("SIGKILL")
  running.clear()
  removeTemporaryFolders()
  if (server.available) await dropSchemas(server.url, schemas.splice(0))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` every 20 ms until it holds; fails after `timeoutMs` instead of hanging. */
const until = async (probe: () => boolean | Promise<boolean>, what: string, timeoutMs: number) => {
  const giveUp = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > giveUp) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** `switchboard worker` on the fixture, resolved once it is taking runs. */
const startWorker = async (journal: string, extra: readonly string[] = []) => {
  const process = startCli(["worker", fixture, "--journal", journal, ...extra])
  running.add(process)
  await until(() => process.stderr().includes("executing runs of") || process.child.exitCode !== null, "the worker to start", 20_000)
  if (process.child.exitCode !== null) throw new Error(`the worker exited: ${process.stderr()}`)
  return process
}

/** `switchboard run` on the fixture: it pauses on review and exits. Resolves with the run id and when the process was gone. */
const pausedByAnotherProcess = async (journal: string) => {
  const { code, stdout, stderr } = await startCli(["run", fixture, "--input", '{"amount":5}', "--journal", journal]).finished
  const exitedAt = Date.now()
  expect(stderr).toBe("")
  expect(code).toBe(3)
  const runId = /awaiting a human decision on review \(run ([0-9a-f-]{36})\)/.exec(stdout)?.[1]
  if (runId === undefined) throw new Error(`no run id in: ${stdout}`)
  return { runId, exitedAt }
}

const deadlineOf = (entries: readonly JournalEntry[]): number => {
  const waiting = entries.find((entry) => entry.type === "human.waiting")
  if (waiting?.type !== "human.waiting" || waiting.deadline === undefined) throw new Error("the run journaled no deadline")
  return waiting.deadline
}

/** What must hold once the worker took the timeout route: expired once, escalated, about a second after the deadline at most. */
const tookTheTimeoutRoute = (entries: readonly JournalEntry[], deadline: number, withinMs: number) => {
  const expired = entries.filter((entry) => entry.type === "human.expired")
  expect(expired).toHaveLength(1)
  const lateBy = (expired[0]?.at ?? Number.POSITIVE_INFINITY) - deadline
  expect(lateBy).toBeGreaterThanOrEqual(0)
  expect(lateBy).toBeLessThan(withinMs)
  expect(entries.filter((entry) => entry.type === "step.finished").map((entry) => entry.type === "step.finished" && entry.step)).toEqual([
    "prepare",
    "escalate",
  ])
  expect(entries.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
}

describe("a deadline passes with only a worker alive", () => {
  it("SQLite: `switchboard worker` takes the timeout route within about a second (default 1 s poll)", async () => {
    const database = join(temporaryFolder(), "runs.db")
    const running = await startWorker(`sqlite:${database}`)
    const { runId, exitedAt } = await pausedByAnotherProcess(`sqlite:${database}`)
    const journal = sqliteJournal({ path: database })
    const deadline = deadlineOf(await journal.read(runId))
    // The process that paused the run was gone before its deadline (its timer never held it up).
    expect(exitedAt).toBeLessThan(deadline)
    await until(() => journal.runs().some((run) => run.runId === runId && run.status === "done"), "the timeout route", 10_000)
    // The worker learns of the wait at its next poll (at most 1 s) or arms a timer for it, then resumes it.
    tookTheTimeoutRoute(await journal.read(runId), deadline, 1_500)
    await until(() => running.stdout().includes(`${runId} done`), "the worker's line for the run", 5_000)
    journal.close()
  }, 40_000)

  it.skipIf(!server.available)(
    `Postgres: NOTIFY tells the worker of the wait and its timer fires at the deadline (10 s poll)${server.available ? "" : ` (skipped: ${server.reason})`}`,
    async () => {
      if (!server.available) return
      const schema = freshSchema()
      schemas.push(schema)
      const flag = `postgres:${server.url}#${schema}`
      await startWorker(flag, ["--poll", "10000"])
      const { runId, exitedAt } = await pausedByAnotherProcess(flag)
      const journal = postgresJournal({ connectionString: server.url, schema, connectTimeoutMs: 2000 })
      try {
        const deadline = deadlineOf(await journal.read(runId))
        expect(exitedAt).toBeLessThan(deadline)
        await until(async () => (await journal.runs()).some((run) => run.runId === runId && run.status === "done"), "the timeout route", 8_000)
        // Not the poll (10 s): the worker heard of the wait and woke at the deadline.
        tookTheTimeoutRoute(await journal.read(runId), deadline, 1_000)
      } finally {
        await journal.close()
      }
    },
    40_000,
  )
})

/** The journal of a run that another process paused on review (written here as that process would). */
const pausedElsewhere = async (runId: string) => {
  const source = memoryJournal()
  const paused = await reviewed.run({ amount: 5 }, { journal: source, runId: `${runId}-source` })
  expect(paused).toMatchObject({ status: "awaiting-human", step: "review" })
  return (await source.read(`${runId}-source`)).map((entry) => ({ ...entry, runId }) as JournalEntry)
}

describe("worker scheduling", () => {
  it("arms a timer for the earliest deadline it has seen, and polls no faster than pollMs otherwise", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] })
    const database = join(temporaryFolder(), "runs.db")
    const store = sqliteJournal({ path: database })
    const entries = await pausedElsewhere("scheduled")
    for (const entry of entries) store.append(entry)
    const deadline = deadlineOf(entries)
    let scans = 0
    const journal: WorkerJournal = { ...store, runs: () => (scans++, store.runs()) }
    const results: string[] = []
    const running = worker({ journal, pipelines: [reviewed], pollMs: 60_000, onResult: (result) => results.push(result.status) })
    const giveUp = performance.now() + 5_000
    while (results.length === 0 && performance.now() < giveUp) {
      await vi.advanceTimersByTimeAsync(Math.max(1, Math.min(50, deadline - Date.now())))
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(results).toEqual(["done"])
    const after = await store.read("scheduled")
    // On the deadline (fake time), long before the 60 s poll.
    expect((after.find((entry) => entry.type === "human.expired")?.at ?? 0) - deadline).toBeLessThan(100)
    const scansAtDeadline = scans
    expect(scansAtDeadline).toBeLessThanOrEqual(4)
    // Nothing else is due: the next look is the poll, 60 s on.
    await vi.advanceTimersByTimeAsync(59_000)
    expect(scans).toBe(scansAtDeadline)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(scans).toBe(scansAtDeadline + 1)
    await running.stop()
    store.close()
  })
})

describe("the demo's escalation", () => {
  it("a support-triage run nobody reviews, paused by `switchboard run`, is escalated by a worker once its 4h deadline has passed", async () => {
    const database = join(temporaryFolder(), "runs.db")
    const unreviewed = samples.find((sample) => sample.expected.step === "escalate")
    if (unreviewed === undefined) throw new Error("the machine has no sample that escalates")
    const paused = await startCli(["run", "machines/support-triage.machine.ts", "--input", JSON.stringify(unreviewed.input), "--journal", `sqlite:${database}`])
      .finished
    expect(paused.code).toBe(3)
    const runId = /\(run ([0-9a-f-]{36})\)/.exec(paused.stdout)?.[1] ?? ""
    const journal = sqliteJournal({ path: database })
    const deadline = deadlineOf(await journal.read(runId))
    expect(journal.runs()).toEqual([expect.objectContaining({ runId, status: "awaiting-human", deadline })])
    // Four hours later (only the clock is faked), the worker `switchboard worker` runs takes the run to escalate.
    vi.useFakeTimers({ now: deadline + 1, toFake: ["Date"] })
    const results: unknown[] = []
    const running = worker({ journal, pipelines: [supportTriage], models: scriptedModels(), pollMs: 50, onResult: (result) => results.push(result) })
    await until(() => results.length > 0, "the worker to take the run", 10_000)
    await running.stop()
    expect(results).toMatchObject([{ runId, status: "done", step: "escalate", output: { queue: "tier-2", reason: "no review within 4h" } }])
    journal.close()
  }, 30_000)
})

// The schema of databases written before runs had a deadline, exactly as it was.
const sqliteBeforeDeadlines = `
CREATE TABLE IF NOT EXISTS runs (
  run_id TEXT PRIMARY KEY,
  pipeline TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'running',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  snapshot TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS journal (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS runs_by_update ON runs (updated_at);
CREATE TRIGGER IF NOT EXISTS journal_run_status AFTER INSERT ON journal
WHEN NEW.type IN ('run.started', 'human.waiting', 'human.decided', 'run.finished')
BEGIN
  INSERT INTO runs (run_id, pipeline, status, created_at, updated_at)
  VALUES (
    NEW.run_id,
    coalesce(json_extract(NEW.data, '$.pipeline'), ''),
    CASE NEW.type
      WHEN 'human.waiting' THEN 'awaiting-human'
      WHEN 'run.finished' THEN json_extract(NEW.data, '$.status')
      ELSE 'running'
    END,
    NEW.at,
    NEW.at
  )
  ON CONFLICT (run_id) DO UPDATE SET
    pipeline = CASE WHEN NEW.type = 'run.started' THEN excluded.pipeline ELSE runs.pipeline END,
    status = excluded.status,
    updated_at = max(runs.updated_at, excluded.updated_at);
END;
`

const postgresBeforeDeadlines = (schema: string) => `
CREATE SCHEMA "${schema}";
CREATE TABLE "${schema}".runs (
  run_id text PRIMARY KEY, pipeline text NOT NULL DEFAULT '', status text NOT NULL DEFAULT 'running',
  created_at bigint NOT NULL, updated_at bigint NOT NULL, snapshot json, owner text
);
CREATE TABLE "${schema}".journal (run_id text NOT NULL, seq integer NOT NULL, type text NOT NULL, at bigint NOT NULL, data json NOT NULL, PRIMARY KEY (run_id, seq));
CREATE INDEX runs_by_status ON "${schema}".runs (status, updated_at);`

const payloadOf = (entry: JournalEntry): string => {
  const { type: _type, runId: _runId, at: _at, seq: _seq, ...data } = entry
  return JSON.stringify(data)
}

describe("databases written before runs had a deadline", () => {
  it("SQLite: opening one adds the column, keeps it with the trigger, and fills it in for the runs waiting now", async () => {
    const database = join(temporaryFolder(), "old.db")
    const entries = await pausedElsewhere("old-sqlite")
    const sqlite = process.getBuiltinModule("node:sqlite") as typeof import("node:sqlite")
    const old = new sqlite.DatabaseSync(database)
    old.exec(sqliteBeforeDeadlines)
    const insert = old.prepare("INSERT INTO journal (run_id, seq, type, at, data) VALUES (?, ?, ?, ?, ?)")
    for (const entry of entries) insert.run(entry.runId, entry.seq, entry.type, entry.at, payloadOf(entry))
    old.close()

    const journal = sqliteJournal({ path: database })
    const deadline = deadlineOf(entries)
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "old-sqlite", status: "awaiting-human", deadline })])
    // Opening it again (another process, later) changes nothing more.
    const again = sqliteJournal({ path: database })
    expect(again.runs()).toEqual(journal.runs())
    again.close()
    // The trigger keeps the column from now on: a decision clears it.
    journal.append({ type: "human.decided", runId: "old-sqlite", step: "review", visit: 1, decision: { approve: true }, at: Date.now(), seq: entries.length })
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "old-sqlite", status: "running" })])
    expect(journal.runs()[0]).not.toHaveProperty("deadline")
    journal.close()
  })

  it.skipIf(!server.available)(
    `Postgres: the schema is migrated in place, waiting runs get their deadline${server.available ? "" : " (skipped)"}`,
    async () => {
      if (!server.available) return
      const schema = freshSchema()
      schemas.push(schema)
      const entries = await pausedElsewhere("old-postgres")
      const client = new pg.Client({ connectionString: server.url })
      await client.connect()
      try {
        await client.query(postgresBeforeDeadlines(schema))
        for (const entry of entries) {
          await client.query(`INSERT INTO "${schema}".journal (run_id, seq, type, at, data) VALUES ($1, $2, $3, $4, $5::json)`, [
            entry.runId,
            entry.seq,
            entry.type,
            entry.at,
            payloadOf(entry),
          ])
        }
        await client.query(`INSERT INTO "${schema}".runs (run_id, pipeline, status, created_at, updated_at) VALUES ($1, $2, 'awaiting-human', $3, $3)`, [
          "old-postgres",
          reviewed.id,
          Date.now(),
        ])
      } finally {
        await client.end()
      }
      const journal = postgresJournal({ connectionString: server.url, schema, connectTimeoutMs: 2000 })
      try {
        const deadline = deadlineOf(entries)
        expect(await journal.runs()).toEqual([expect.objectContaining({ runId: "old-postgres", status: "awaiting-human", deadline })])
        expect(await journal.runs({ dueBy: deadline - 1 })).toEqual([])
        expect(await journal.runs({ dueBy: deadline })).toEqual([expect.objectContaining({ runId: "old-postgres" })])
        await journal.append({ type: "human.expired", runId: "old-postgres", step: "review", visit: 1, at: Date.now(), seq: entries.length })
        expect(await journal.runs()).toEqual([expect.objectContaining({ runId: "old-postgres", status: "running" })])
        expect((await journal.runs())[0]).not.toHaveProperty("deadline")
      } finally {
        await journal.close()
      }
    },
  )
})
