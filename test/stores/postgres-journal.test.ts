import { type ChildProcess, execFile, spawn } from "node:child_process"
import { hostname } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import pg from "pg"
import { afterEach, describe, expect, it, vi } from "vitest"
import { JournalConflictError, type PostgresJournal, postgresJournal } from "../../src/index.ts"
import { durableJournalContract, journalContract, started, stepStarted } from "./journal-contract.ts"
import { dropSchemas, freshSchema, locatePostgres } from "./postgres.ts"

const server = await locatePostgres()
const url = server.available ? server.url : ""
const root = join(import.meta.dirname, "../..")

const schemas: string[] = []
const journals: PostgresJournal[] = []
const clients: pg.Client[] = []
const children: ChildProcess[] = []
const openPostgres = (schema: string) => {
  if (!schemas.includes(schema)) schemas.push(schema)
  const journal = postgresJournal({ connectionString: url, schema, connectTimeoutMs: 2000 })
  journals.push(journal)
  return journal
}
const connect = async () => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  client.on("error", () => {})
  clients.push(client)
  await client.connect()
  return client
}

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL")
  await Promise.all(journals.splice(0).map((journal) => journal.close()))
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => {})))
  if (server.available) await dropSchemas(url, schemas.splice(0))
})

/** Polls `probe` until it returns a value, failing at the deadline instead of hanging. */
const eventually = async <T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 5000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const title = server.available ? "postgresJournal" : `postgresJournal (skipped: ${server.reason})`

describe.skipIf(!server.available)(title, () => {
  describe("Journal contract", () => journalContract(() => openPostgres(freshSchema())))

  describe("durable journal contract", () =>
    durableJournalContract(() => {
      const schema = freshSchema()
      return () => openPostgres(schema)
    }))

  it("lets exactly one of several concurrent appends of the same seq through; the others get JournalConflictError", async () => {
    const schema = freshSchema()
    const [first, second] = [openPostgres(schema), openPostgres(schema)]
    await first.append(started("r1"))
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, index) => (index % 2 === 0 ? first : second).append(stepStarted("r1", 1, `step${index}`))),
    )
    expect(attempts.filter((attempt) => attempt.status === "fulfilled")).toHaveLength(1)
    const refusals = attempts.flatMap((attempt) => (attempt.status === "rejected" ? [attempt.reason] : []))
    expect(refusals).toHaveLength(7)
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(JournalConflictError)
    expect((await second.read("r1")).map((entry) => entry.seq)).toEqual([0, 1])
  })

  it("creates its schema once when several journals start together, with the documented tables", async () => {
    const schema = freshSchema()
    const together = Array.from({ length: 4 }, () => openPostgres(schema))
    expect(await Promise.all(together.map((journal) => journal.read("r1")))).toEqual([[], [], [], []])
    await openPostgres(schema).append(started("r1"))
    const client = await connect()
    const { rows } = await client.query(
      "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
      [schema],
    )
    expect(rows.map((row) => `${row.table_name}.${row.column_name} ${row.data_type}`)).toEqual([
      "journal.run_id text",
      "journal.seq integer",
      "journal.type text",
      "journal.at bigint",
      "journal.data json",
      "journal.position bigint",
      "runs.run_id text",
      "runs.pipeline text",
      "runs.status text",
      "runs.created_at bigint",
      "runs.updated_at bigint",
      "runs.snapshot json",
      "runs.owner text",
      "runs.deadline bigint",
    ])
  })

  it("filters runs by status", async () => {
    const journal = openPostgres(freshSchema())
    await journal.append({ seq: 0, type: "run.started", runId: "waits", pipeline: "triage", input: {}, at: 10 })
    await journal.append({ seq: 1, type: "human.waiting", runId: "waits", step: "review", visit: 1, at: 20 })
    await journal.append({ seq: 2, type: "human.decided", runId: "waits", step: "review", visit: 1, decision: {}, at: 25 })
    await journal.append({ seq: 0, type: "run.started", runId: "ends", pipeline: "triage", input: {}, at: 30 })
    await journal.append({ seq: 1, type: "run.finished", runId: "ends", status: "failed", durationMs: 5, at: 40 })
    expect((await journal.runs({ status: "running" })).map((run) => run.runId)).toEqual(["waits"])
    expect((await journal.runs({ status: ["failed", "awaiting-human"] })).map((run) => run.runId)).toEqual(["ends"])
    expect(await journal.runs({ status: [] })).toEqual([])
  })

  it("NOTIFYs its channel with the run id when a run starts or a human decision arrives, and for nothing else", async () => {
    const journal = openPostgres(freshSchema())
    expect(journal.channel).toBe(`${journal.schema}_runs`)
    const listener = await connect()
    const heard: string[] = []
    listener.on("notification", (message) => heard.push(`${message.channel} ${message.payload}`))
    await listener.query(`LISTEN "${journal.channel}"`)
    await journal.append(started("new"))
    await journal.append(stepStarted("stepping", 0))
    await journal.append({ seq: 0, type: "human.waiting", runId: "waiting", step: "review", visit: 1, at: 1 })
    await journal.append({ seq: 0, type: "human.decided", runId: "decided", step: "review", visit: 1, decision: { approve: true }, at: 1 })
    // Notifications arrive in commit order: once the last one is here, the others would be too.
    await eventually(async () => (heard.length >= 2 ? true : undefined), "two notifications")
    expect(heard).toEqual([`${journal.channel} new`, `${journal.channel} decided`])
  })

  it("listen() hears runs started or decided by other journals until stopped, and survives a dropped connection", async () => {
    const schema = freshSchema()
    const [worker, other] = [openPostgres(schema), openPostgres(schema)]
    const heard: string[] = []
    const stop = await worker.listen((runId) => heard.push(runId))
    await other.append(started("first"))
    await eventually(async () => (heard.length > 0 ? true : undefined), "the first notification")

    const admin = await connect()
    const { rows } = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'switchboard listen' AND datname = current_database()",
    )
    expect(rows).toHaveLength(1)
    // The listener reconnects a second later; notifications sent before that are lost, so keep sending.
    let seq = 0
    await eventually(async () => {
      await other.append({ seq: seq++, type: "human.decided", runId: "decided", step: "review", visit: 1, decision: {}, at: 1 })
      return heard.includes("decided") ? true : undefined
    }, "a notification after reconnecting")

    await stop()
    const before = heard.length
    await other.append(started("after"))
    const marker = await connect()
    const markerHeard: string[] = []
    marker.on("notification", ({ payload }) => markerHeard.push(payload ?? ""))
    await marker.query(`LISTEN "${worker.channel}"`)
    await other.append(started("last"))
    await eventually(async () => (markerHeard.includes("last") ? true : undefined), "the marker notification")
    expect(heard.length).toBe(before)
    expect(heard[0]).toBe("first")
  })

  it("refuses an event Postgres cannot store, naming the run and seq", async () => {
    const journal = openPostgres(freshSchema())
    await expect(journal.append(started("r1", 2 ** 31))).rejects.toThrow(
      /journal for run r1: event 2147483648 \(run.started\) cannot be stored: .*out of range/,
    )
    expect(await journal.read("r1")).toEqual([])
  })

  it("reads its connection string from SWITCHBOARD_DATABASE_URL, and says so when there is none", async () => {
    vi.stubEnv("SWITCHBOARD_DATABASE_URL", "")
    expect(() => postgresJournal()).toThrow(/postgresJournal needs a connection string: pass \{ connectionString \} or set SWITCHBOARD_DATABASE_URL/)
    vi.stubEnv("SWITCHBOARD_DATABASE_URL", url)
    const schema = freshSchema()
    schemas.push(schema)
    const journal = postgresJournal({ schema })
    journals.push(journal)
    await journal.append(started("r1"))
    expect(await openPostgres(schema).read("r1")).toEqual([started("r1")])
    vi.unstubAllEnvs()
  })

  it("refuses a schema name that is not a plain identifier", () => {
    expect(() => postgresJournal({ connectionString: url, schema: 'x"; DROP TABLE runs; --' })).toThrow(/schema must be a lower-case SQL identifier/)
    expect(() => postgresJournal({ connectionString: url, schema: "a".repeat(59) })).toThrow(/at most 58 characters/)
  })

  it("fails fast, without the password, when the server cannot be reached, and retries on the next call", async () => {
    const journal = postgresJournal({ connectionString: "postgres://postgres:secret@127.0.0.1:1/test", connectTimeoutMs: 1000 })
    journals.push(journal)
    const failure = journal.read("r1")
    await expect(failure).rejects.toThrow(/postgresJournal: cannot prepare schema "switchboard" on 127\.0\.0\.1:1\/test: /)
    await expect(failure).rejects.not.toThrow(/secret/)
    await expect(journal.read("r1")).rejects.toThrow(/cannot prepare schema/)
  })

  it("is not loaded by importing the package", async () => {
    const script = `
      import { registerHooks } from "node:module"
      const resolved = []
      registerHooks({ resolve: (specifier, context, next) => { const result = next(specifier, context); resolved.push(result.url); return result } })
      const isPg = (resolvedUrl) => resolvedUrl.includes("/node_modules/pg/")
      await import("./src/index.ts")
      const before = resolved.filter(isPg)
      await import("pg")
      process.stdout.write(JSON.stringify({ before, after: resolved.some(isPg) }))`
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", script], { cwd: root })
    // The positive control shows the hook would have seen pg.
    expect(JSON.parse(stdout)).toEqual({ before: [], after: true })
  })

  describe("claims", () => {
    it("lets one journal at a time claim a run, records the owner while held, and hands it over on release", async () => {
      const schema = freshSchema()
      const [first, second] = [openPostgres(schema), openPostgres(schema)]
      await first.append(started("r1"))
      const claim = await first.claim("r1")
      expect(claim).toBeDefined()
      expect(await second.claim("r1")).toBeUndefined()
      expect(await first.claim("r1")).toBeUndefined()
      expect(await second.claim("r2")).toBeDefined()
      expect(await second.runs()).toEqual([expect.objectContaining({ runId: "r1", owner: `${hostname()}:${process.pid}` })])

      await claim!.release()
      await claim!.release()
      expect(await second.runs()).toEqual([{ runId: "r1", pipeline: "p", status: "running", updatedAt: 1000 }])
      const taken = await second.claim("r1")
      expect(taken).toBeDefined()
      expect(await first.claim("r1")).toBeUndefined()
    })

    it("holds all of a journal's claims on one connection, and a released claim's signal never fires", async () => {
      const schema = freshSchema()
      const [first, second] = [openPostgres(schema), openPostgres(schema)]
      const runIds = Array.from({ length: 12 }, (_, index) => `r${index}`)
      const claims = await Promise.all(runIds.map((runId) => first.claim(runId)))
      expect(claims.every((claim) => claim !== undefined)).toBe(true)
      // Claiming the same run twice at once within one process gives it out once.
      const twice = await Promise.all([second.claim("x1"), second.claim("x1")])
      expect(twice.filter((claim) => claim !== undefined)).toHaveLength(1)
      const admin = await connect()
      const { rows } = await admin.query(
        "SELECT count(DISTINCT pid)::integer AS sessions, count(*)::integer AS locks FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND application_name = 'switchboard claim' AND pid = (SELECT pid FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE locktype = 'advisory' AND application_name = 'switchboard claim' GROUP BY pid HAVING count(*) = 12)",
      )
      expect(rows[0]).toEqual({ sessions: 1, locks: 12 })
      for (const runId of runIds) expect(await second.claim(runId)).toBeUndefined()
      await claims[0]!.release()
      expect(await second.claim("r0")).toBeDefined()
      await first.close()
      expect(claims.map((claim) => claim!.signal.aborted)).toEqual(runIds.map(() => false))
      expect(await second.claim("r5")).toBeDefined()
    })

    it("records the owner of a run claimed before it started", async () => {
      const journal = openPostgres(freshSchema())
      await journal.claim("r1")
      await journal.append(started("r1"))
      expect(await journal.runs()).toEqual([expect.objectContaining({ runId: "r1", owner: `${hostname()}:${process.pid}` })])
    })

    it("releases its claims when the journal is closed", async () => {
      const schema = freshSchema()
      const [first, second] = [openPostgres(schema), openPostgres(schema)]
      expect(await first.claim("r1")).toBeDefined()
      await first.close()
      expect(await second.claim("r1")).toBeDefined()
      await expect(first.claim("r2")).rejects.toThrow(/is closed/)
    })

    it("aborts the claim's signal when its connection dies, and the run becomes claimable", async () => {
      const schema = freshSchema()
      const [first, second] = [openPostgres(schema), openPostgres(schema)]
      const claim = await first.claim("r1")
      expect(claim?.signal.aborted).toBe(false)
      const admin = await connect()
      const { rows } = await admin.query(
        "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = 'switchboard claim' AND datname = current_database() AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
      )
      expect(rows.length).toBeGreaterThan(0)
      await eventually(async () => (claim?.signal.aborted ? true : undefined), "the claim's signal to abort")
      expect(String(claim?.signal.reason)).toMatch(/the claim's connection to Postgres was lost/)
      expect(await second.claim("r1")).toBeDefined()
      await claim?.release()
    })

    it("frees the claim of a process killed with SIGKILL within seconds", async () => {
      const schema = freshSchema()
      const journal = openPostgres(schema)
      await journal.append(started("r1"))
      const script = `
        const { postgresJournal } = await import("./src/index.ts")
        const claim = await postgresJournal({ connectionString: process.env.TEST_URL, schema: process.env.TEST_SCHEMA }).claim("r1")
        process.stdout.write(claim === undefined ? "refused\\n" : "claimed\\n")
        setInterval(() => {}, 60_000)`
      const child = spawn(process.execPath, ["--input-type=module", "--eval", script], {
        cwd: root,
        env: { ...process.env, TEST_URL: url, TEST_SCHEMA: schema },
        stdio: ["ignore", "pipe", "pipe"],
      })
      children.push(child)
      let output = ""
      child.stdout.on("data", (chunk) => (output += chunk))
      child.stderr.on("data", (chunk) => (output += chunk))
      await eventually(async () => (output.includes("\n") ? true : undefined), "the child to claim the run", 15_000)
      expect(output).toBe("claimed\n")
      expect(await journal.claim("r1")).toBeUndefined()
      expect(await journal.runs()).toEqual([expect.objectContaining({ owner: `${hostname()}:${child.pid}` })])

      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGKILL")
      await exited
      const killedAt = Date.now()
      const claim = await eventually(() => journal.claim("r1"), "the dead child's claim to be freed", 3000)
      expect(Date.now() - killedAt).toBeLessThan(3000)
      expect(await journal.runs()).toEqual([expect.objectContaining({ owner: `${hostname()}:${process.pid}` })])
      await claim.release()
    })
  })
})
