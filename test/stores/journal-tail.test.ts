import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { aesGcmCodec, memoryJournal, type PostgresJournal, postgresJournal, type SqliteJournal, sqliteJournal } from "../../src/index.ts"
import { started, stepStarted } from "./journal-contract.ts"
import { tailContract, take } from "./journal-tail-contract.ts"
import { dropSchemas, freshSchema, locatePostgres } from "./postgres.ts"

const directories: string[] = []
const sqlites: SqliteJournal[] = []
const openSqlite = (path = join(temporaryDirectory(), "runs.db")) => {
  const journal = sqliteJournal({ path, tailPollMs: 10 })
  sqlites.push(journal)
  return journal
}
const temporaryDirectory = () => {
  const directory = mkdtempSync(join(tmpdir(), "switchboard-tail-"))
  directories.push(directory)
  return directory
}

afterEach(() => {
  for (const journal of sqlites.splice(0)) journal.close()
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

describe("memoryJournal().tail", () => tailContract(() => memoryJournal()))

describe("sqliteJournal().tail", () => {
  tailContract(() => openSqlite())

  it("sees what another process appends to the same file", { timeout: 20_000 }, async () => {
    const path = join(temporaryDirectory(), "runs.db")
    const journal = openSqlite(path)
    await journal.append(started("r1"))
    const controller = new AbortController()
    const entries = journal.tail({ runId: "r1", signal: controller.signal })[Symbol.asyncIterator]()
    expect((await take(entries, 1)).map((entry) => entry.seq)).toEqual([0])
    const writer = `
      import { sqliteJournal } from ${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)}
      const journal = sqliteJournal({ path: ${JSON.stringify(path)} })
      for (const seq of [1, 2]) journal.append({ seq, type: "step.started", runId: "r1", step: "s" + seq, visit: 1, at: 1000 + seq })
      journal.close()`
    const child = spawn(process.execPath, ["--input-type=module", "--eval", writer], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr.on("data", (chunk) => {
      stderr += String(chunk)
    })
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve))
    const live = await take(entries, 2, 15_000)
    expect(await exited, stderr).toBe(0)
    expect(live.map((entry) => [entry.seq, entry.type === "step.started" ? entry.step : ""])).toEqual([
      [1, "s1"],
      [2, "s2"],
    ])
    controller.abort()
  })

  it("numbers the entries of a database written before positions existed, and ends its tails when closed", async () => {
    const path = join(temporaryDirectory(), "runs.db")
    const old = openSqlite(path)
    await old.append(started("r1"))
    await old.append(stepStarted("r1", 1))
    old.close()
    const { DatabaseSync } = await import("node:sqlite")
    const raw = new DatabaseSync(path)
    raw.exec("DROP TRIGGER journal_position; DROP TABLE journal_positions")
    raw.close()
    const reopened = openSqlite(path)
    const entries = reopened.tail()[Symbol.asyncIterator]()
    expect((await take(entries, 2)).map((entry) => [entry.seq, entry.position])).toEqual([
      [0, 1],
      [1, 2],
    ])
    const waiting = entries.next()
    reopened.close()
    expect(await waiting).toEqual({ done: true, value: undefined })
  })

  it("decodes what it yields when the journal has a codec", async () => {
    const journal = sqliteJournal({ path: join(temporaryDirectory(), "runs.db"), codec: aesGcmCodec(Buffer.alloc(32, 7).toString("base64")) })
    sqlites.push(journal)
    await journal.append(started("r1"))
    const [entry] = await take(journal.tail({ runId: "r1" })[Symbol.asyncIterator](), 1)
    expect(entry).toEqual({ ...started("r1"), position: 1 })
  })
})

const server = await locatePostgres()
const url = server.available ? server.url : ""
const title = server.available ? "postgresJournal().tail" : `postgresJournal().tail (skipped: ${server.reason})`

describe.skipIf(!server.available)(title, () => {
  const schemas: string[] = []
  const journals: PostgresJournal[] = []
  const openPostgres = (schema = freshSchema()) => {
    if (!schemas.includes(schema)) schemas.push(schema)
    const journal = postgresJournal({ connectionString: url, schema, connectTimeoutMs: 2000 })
    journals.push(journal)
    return journal
  }
  afterEach(async () => {
    await Promise.all(journals.splice(0).map((journal) => journal.close()))
    await dropSchemas(url, schemas.splice(0))
  })

  tailContract(() => openPostgres())

  it("numbers the entries of a schema made before positions existed", { timeout: 20_000 }, async () => {
    const schema = freshSchema()
    const old = openPostgres(schema)
    await old.append(started("r1"))
    await old.append(stepStarted("r1", 1))
    await old.close()
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    client.on("error", () => {})
    await client.connect()
    try {
      await client.query(`DROP INDEX "${schema}".journal_by_position; ALTER TABLE "${schema}".journal DROP COLUMN position`)
    } finally {
      await client.end()
    }
    const reopened = openPostgres(schema)
    const entries = await take(reopened.tail()[Symbol.asyncIterator](), 2)
    expect(entries.map((entry) => entry.seq)).toEqual([0, 1])
    expect(entries[0]?.position).toBeLessThan(entries[1]?.position ?? 0)
  })

  it("hears another journal's appends through NOTIFY, and ends its tails when closed", { timeout: 20_000 }, async () => {
    const schema = freshSchema()
    const reader = openPostgres(schema)
    const writer = openPostgres(schema)
    await writer.append(started("r1"))
    const entries = reader.tail({ runId: "r1" })[Symbol.asyncIterator]()
    expect((await take(entries, 1)).map((entry) => entry.seq)).toEqual([0])
    const pending = take(entries, 1)
    await writer.append(stepStarted("r1", 1))
    expect((await pending).map((entry) => entry.seq)).toEqual([1])
    const waiting = entries.next()
    await reader.close()
    expect(await waiting).toEqual({ done: true, value: undefined })
  })
})
