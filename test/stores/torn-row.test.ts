// A journal row changed under the run (a torn write, a disk error, a hand with sqlite3): every read
// names the run and the seq with a typed error instead of a SyntaxError or a wrong answer.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import pg from "pg"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { CorruptJournalError, fn, human, type Journal, pipeline, postgresJournal, ResumeError, sqliteJournal } from "../../src/index.ts"
import { dropSchemas, freshSchema, locatePostgres } from "./postgres.ts"

const shipping = pipeline({ id: "shipping", input: z.object({ order: z.string() }) })
  .step(
    "prepare",
    fn(({ input }) => ({ parcel: `parcel for ${input.order}` })),
  )
  .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
  .step(
    "ship",
    fn(({ steps }) => `shipped ${steps.prepare?.parcel}`),
  )
  .edges({ prepare: "review", review: "ship", ship: "done" })

const folders: string[] = []
const closers: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** A real SQLite file holding a run paused on `review`, and a second connection to change its rows. */
const pausedOnSqlite = async () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-torn-"))
  folders.push(folder)
  const path = join(folder, "runs.db")
  const journal = sqliteJournal({ path })
  closers.push(journal.close)
  const paused = await shipping.run({ order: "A-1" }, { journal, runId: "t1" })
  expect(paused.status).toBe("awaiting-human")
  const database = new DatabaseSync(path)
  closers.push(() => database.close())
  const seqOf = (type: string, step?: string) =>
    Number(
      database
        .prepare("SELECT seq FROM journal WHERE run_id = 't1' AND type = ? AND (? IS NULL OR json_extract(data, '$.step') = ?) ORDER BY seq LIMIT 1")
        .get(type, step ?? null, step ?? null)?.seq,
    )
  const last = Number(database.prepare("SELECT max(seq) AS last FROM journal WHERE run_id = 't1'").get()?.last)
  return { journal, database, seqOf, last }
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error("expected a rejection")
    },
    (error: unknown) => error,
  )

/** What resume and decide say about the corrupt journal: the same ResumeError, run unchanged. */
const expectCorrupt = async (journal: Journal, seq: number, problem: RegExp) => {
  for (const attempt of [() => shipping.resume("t1", { journal }), () => shipping.decide("t1", "review", { approve: true }, { journal })]) {
    const error = await rejection(attempt())
    expect(error).toBeInstanceOf(ResumeError)
    expect(error).toMatchObject({ reason: "corrupt-journal", runId: "t1", cause: { name: "CorruptJournalError", runId: "t1", seq } })
    expect((error as ResumeError).message).toMatch(new RegExp(`^cannot resume run t1: its journal is corrupt at seq ${seq}: `))
    expect(((error as ResumeError).cause as CorruptJournalError).problem).toMatch(problem)
  }
}

describe("a SQLite journal whose rows were changed", () => {
  it("reads a torn last row as a CorruptJournalError naming the run and the seq, not a SyntaxError", async () => {
    const { journal, database, last } = await pausedOnSqlite()
    // The write that a crash cut short: the row's JSON ends in the middle.
    database.prepare("UPDATE journal SET data = substr(data, 1, length(data) - 3) WHERE run_id = 't1' AND seq = ?").run(last)
    const error = await rejection(journal.read("t1"))
    expect(error).toBeInstanceOf(CorruptJournalError)
    expect(error).not.toBeInstanceOf(SyntaxError)
    expect(error).toMatchObject({ runId: "t1", seq: last, problem: expect.stringMatching(/^its human\.waiting row is not JSON \(/) })
    await expectCorrupt(journal, last, /row is not JSON/)
  })

  it.each<[string, string, (seqOf: (type: string, step?: string) => number) => number, RegExp]>([
    ["null", "UPDATE journal SET data = 'null' WHERE run_id = 't1' AND seq = :seq", (seqOf) => seqOf("step.finished"), /row holds null, not an object/],
    ["a string", `UPDATE journal SET data = '"parcel"' WHERE run_id = 't1' AND seq = :seq`, (seqOf) => seqOf("step.finished"), /row holds a string/],
    [
      "of an unknown event type",
      "UPDATE journal SET type = 'step.exploded' WHERE run_id = 't1' AND seq = :seq",
      (seqOf) => seqOf("step.finished"),
      /"step\.exploded" is not a known event type/,
    ],
    [
      "a step.finished without its output",
      "UPDATE journal SET data = json_remove(data, '$.output') WHERE run_id = 't1' AND seq = :seq",
      (seqOf) => seqOf("step.finished"),
      /step\.finished has no "output"/,
    ],
    [
      "a human.waiting whose step is a number",
      "UPDATE journal SET data = json_set(data, '$.step', 3) WHERE run_id = 't1' AND seq = :seq",
      (seqOf) => seqOf("human.waiting"),
      /"step" of human\.waiting is a number 3, not a string/,
    ],
  ])("refuses a row that is %s on resume and decide, naming the seq", async (_name, update, target, problem) => {
    const { journal, database, seqOf } = await pausedOnSqlite()
    const seq = target(seqOf)
    database.prepare(update).run({ seq })
    await expectCorrupt(journal, seq, problem)
    // Nothing was written: the run is still where it was, for whoever repairs it.
    expect(Number(database.prepare("SELECT count(*) AS rows FROM journal WHERE run_id = 't1' AND type = 'human.decided'").get()?.rows)).toBe(0)
  })

  it("reads a torn snapshot as a CorruptJournalError of the run", async () => {
    const { journal, database } = await pausedOnSqlite()
    database.prepare("UPDATE runs SET snapshot = '{\"value\": \"rev' WHERE run_id = 't1'").run()
    await expect(journal.loadSnapshot("t1")).rejects.toMatchObject({ name: "CorruptJournalError", runId: "t1", seq: undefined })
    await expect(journal.loadSnapshot("t1")).rejects.toThrow(/^the journal of run t1 is corrupt: its snapshot is not JSON/)
  })
})

const server = await locatePostgres()
const url = server.available ? server.url : ""

describe.skipIf(!server.available)(server.available ? "a Postgres journal whose rows were changed" : `Postgres (skipped: ${server.reason})`, () => {
  const schemas: string[] = []
  afterEach(async () => {
    if (server.available) await dropSchemas(url, schemas.splice(0))
  })

  it.each<[string, string, RegExp]>([
    ["null", "data = 'null'::json", /row holds null, not an object/],
    ["a string", `data = '"parcel"'::json`, /row holds a string/],
    ["a step.finished without its output", "data = (data::jsonb - 'output')::json", /step\.finished has no "output"/],
  ])("refuses a row that is %s on resume and decide, naming the seq", async (_name, change, problem) => {
    const schema = freshSchema()
    schemas.push(schema)
    const journal = postgresJournal({ connectionString: url, schema, connectTimeoutMs: 2000 })
    closers.push(() => journal.close())
    await shipping.run({ order: "A-1" }, { journal, runId: "t1" })
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    client.on("error", () => {})
    await client.connect()
    closers.push(() => client.end())
    const found = await client.query(`SELECT seq FROM "${schema}".journal WHERE run_id = 't1' AND type = 'step.finished' ORDER BY seq LIMIT 1`)
    const seq = Number(found.rows[0]?.seq)
    await client.query(`UPDATE "${schema}".journal SET ${change} WHERE run_id = 't1' AND seq = $1`, [seq])
    await expectCorrupt(journal, seq, problem)
  })
})
