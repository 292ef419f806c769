// The journal codec: payloads encrypted at rest with aesGcmCodec, readable (resume, decide, replay,
// show, viz) only with the key, listing fields in clear, and a wrong key a typed CodecError.
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import pg from "pg"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import {
  aesGcmCodec,
  CodecError,
  encodedJournal,
  type Journal,
  type JournalEntry,
  memoryJournal,
  type PayloadCodec,
  postgresJournal,
  ResumeError,
  replay,
  type SqliteJournal,
  sqliteJournal,
} from "../../src/index.ts"
import { cli, removeTemporaryFolders, root, startCli, temporaryFolder } from "../cli/run-cli.ts"
import secrets, { models, toolSecret } from "../run/fixtures/secrets.pipeline.ts"
import { durableJournalContract, journalContract } from "./journal-contract.ts"
import { dropSchemas, freshSchema, locatePostgres } from "./postgres.ts"

const keyA = randomBytes(32)
const keyB = randomBytes(32)
const pipelineFile = join(root, "test/run/fixtures/secrets.pipeline.ts")
const keyTexts = [keyA.toString("base64"), keyA.toString("hex"), keyB.toString("base64"), keyB.toString("hex")]

// The same codec behind promises, as one that asks a key service would be.
const asynchronous = (codec: PayloadCodec): PayloadCodec => ({ encode: async (text) => codec.encode(text), decode: async (text) => codec.decode(text) })
const failureOf = (run: () => unknown): Error => {
  try {
    run()
  } catch (error) {
    return error as Error
  }
  throw new Error("expected a throw")
}
const expectNoKey = (text: string) => {
  for (const key of keyTexts) expect(text).not.toContain(key)
}

const closers: Array<() => void | Promise<void>> = []
const openSqlite = (path: string, codec?: PayloadCodec): SqliteJournal => {
  const journal = sqliteJournal({ path, ...(codec === undefined ? {} : { codec }) })
  closers.push(journal.close)
  return journal
}
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})
afterAll(removeTemporaryFolders)

describe("aesGcmCodec", () => {
  it("round-trips text under a fresh IV each time, in a versioned format naming the key id", () => {
    const codec = aesGcmCodec({ id: "k1", key: keyA })
    const text = JSON.stringify({ output: "naïve café ☕", n: 1 })
    const [first, second] = [codec.encode(text), codec.encode(text)] as [string, string]
    expect(first).toMatch(/^aesgcm1:k1:[A-Za-z0-9+/]+=*$/)
    expect(first).not.toBe(second)
    expect(first).not.toContain("café")
    expect(codec.decode(first)).toBe(text)
    expect(codec.decode(second)).toBe(text)
  })

  it("takes a key as bytes, hex or base64 (standard or URL-safe), one key however written", () => {
    const codecs = [keyA, keyA.toString("hex"), keyA.toString("base64"), keyA.toString("base64url")].map((key) => aesGcmCodec(key))
    const encoded = codecs.map((codec) => codec.encode("same") as string)
    const ids = new Set(encoded.map((text) => text.split(":")[1]))
    expect(ids.size).toBe(1)
    for (const codec of codecs) for (const text of encoded) expect(codec.decode(text)).toBe("same")
  })

  it("refuses a key that is not 32 bytes, or not hex or base64, without printing it", () => {
    const short = randomBytes(16).toString("base64")
    for (const [key, message] of [
      [short, /key 1 has 16 bytes; AES-256 needs 32/],
      ["not a key, clearly!", /key 1 is neither 64 hex characters nor base64/],
    ] as const) {
      const error = failureOf(() => aesGcmCodec(key))
      expect(error).toBeInstanceOf(RangeError)
      expect(error.message).toMatch(message)
      expect(error.message).not.toContain(key)
    }
    expect(failureOf(() => aesGcmCodec([])).message).toMatch(/at least one key/)
    expect(failureOf(() => aesGcmCodec([{ id: "a:b", key: keyA }])).message).toMatch(/key id "a:b" must be/)
  })

  it("rotates: the first key encrypts, older keys still decrypt what they wrote, an unlisted key id is named", () => {
    const old = aesGcmCodec({ id: "2025", key: keyA })
    const rotated = aesGcmCodec([
      { id: "2026", key: keyB },
      { id: "2025", key: keyA },
    ])
    const written = old.encode("from last year") as string
    expect(rotated.decode(written)).toBe("from last year")
    const fresh = rotated.encode("this year") as string
    expect(fresh.startsWith("aesgcm1:2026:")).toBe(true)
    const error = failureOf(() => old.decode(fresh))
    expect(error.message).toBe('it was encrypted with key id "2026", and this codec has only "2025"')
  })

  it("refuses a wrong key under the same id, altered bytes and a payload moved under another key id", () => {
    const written = aesGcmCodec({ id: "k", key: keyA }).encode("secret text") as string
    expect(failureOf(() => aesGcmCodec({ id: "k", key: keyB }).decode(written)).message).toMatch(/key "k" does not open it/)
    const [version, id, body] = written.split(":") as [string, string, string]
    const bytes = Buffer.from(body, "base64")
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1
    expect(failureOf(() => aesGcmCodec({ id: "k", key: keyA }).decode(`${version}:${id}:${bytes.toString("base64")}`)).message).toMatch(/does not open it/)
    const both = aesGcmCodec([
      { id: "k", key: keyA },
      { id: "other", key: keyA },
    ])
    expect(failureOf(() => both.decode(`${version}:other:${body}`)).message).toMatch(/key "other" does not open it/)
    expect(failureOf(() => both.decode("plain text")).message).toMatch(/not an aesgcm1 payload/)
  })
})

describe("encodedJournal", () => {
  const codec = aesGcmCodec(keyA)
  const contracts: Array<[string, () => Journal]> = [
    ["memoryJournal", () => encodedJournal(memoryJournal(), codec)],
    ["memoryJournal, async codec", () => encodedJournal(memoryJournal(), asynchronous(codec))],
    ["sqliteJournal", () => openSqlite(join(temporaryFolder(), "runs.db"), codec)],
  ]
  describe.each(contracts)("Journal contract: %s with aesGcmCodec", (_name, open) => journalContract(open))
  describe("durable journal contract: sqliteJournal with aesGcmCodec", () =>
    durableJournalContract(() => {
      const path = join(temporaryFolder(), "runs.db")
      return () => openSqlite(path, codec)
    }))

  it("keeps a journal sync with a sync codec", () => {
    const journal = encodedJournal(memoryJournal(), codec)
    expect(journal.append({ seq: 0, type: "run.started", runId: "r1", pipeline: "p", input: {}, at: 1 })).toBeUndefined()
  })

  it("reads entries and snapshots written before the codec was set as they are", async () => {
    const path = join(temporaryFolder(), "runs.db")
    const plain = openSqlite(path)
    const entry: JournalEntry = { seq: 0, type: "run.started", runId: "old", pipeline: "p", input: { note: "from before" }, at: 1 }
    plain.append(entry)
    plain.saveSnapshot("old", { value: "x" })
    const encoded = openSqlite(path, codec)
    expect(await encoded.read("old")).toEqual([entry])
    expect(await encoded.loadSnapshot("old")).toEqual({ value: "x" })
  })
})

describe("a SQLite journal with aesGcmCodec", () => {
  it("keeps every payload unreadable on disk, and the listing fields in clear", async () => {
    const path = join(temporaryFolder(), "runs.db")
    const journal = openSqlite(path, aesGcmCodec(keyA))
    const paused = await secrets.run({ orderId: "ORDER-9X2Z", ending: "review" }, { runId: "paused", journal, models: models() })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review" })
    const disk = readFileSync(path).toString("latin1") + (existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`).toString("latin1") : "")
    for (const hidden of ["ORDER-9X2Z", "Approve the charge?", '"charged"', '"apiKey"']) expect(disk).not.toContain(hidden)
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "paused", pipeline: "secrets", status: "awaiting-human" })])
    // What stays readable without the key: the columns, and the few fields in clearFieldsOf.
    const database = new DatabaseSync(path, { readOnly: true })
    try {
      const rows = database.prepare("SELECT type, data FROM journal WHERE run_id = 'paused' ORDER BY seq").all()
      const waiting = rows.find((row) => row.type === "human.waiting")
      expect(JSON.parse(String(waiting?.data))).toEqual({ step: "review", visit: 1, $encoded: expect.stringMatching(/^aesgcm1:/) })
      const startedRow = JSON.parse(String(rows[0]?.data)) as Record<string, unknown>
      expect(Object.keys(startedRow).sort()).toEqual(["$encoded", "pipeline"])
      expect(String(database.prepare("SELECT snapshot FROM runs WHERE run_id = 'paused'").get()?.snapshot)).toMatch(/^\{"\$encoded":"aesgcm1:/)
    } finally {
      database.close()
    }
  })

  it("decides a paused run from a new instance, resumes a cut-short run once, and replays it", async () => {
    const path = join(temporaryFolder(), "runs.db")
    const paused = await secrets.run({ orderId: "A-1", ending: "review" }, { runId: "decided", journal: openSqlite(path, aesGcmCodec(keyA)), models: models() })
    expect(paused.status).toBe("awaiting-human")
    const decided = await secrets.decide("decided", "review", { approve: true }, { journal: openSqlite(path, aesGcmCodec(keyA)), models: models() })
    expect(decided).toMatchObject({ status: "done", output: { approve: true } })

    // A run cut short after its first step (the process died): its journal up to there, encoded.
    const complete = memoryJournal()
    await secrets.run({ orderId: "A-2", ending: "review" }, { runId: "cut", journal: complete, models: models() })
    const entries = await complete.read("cut")
    const kept = entries.slice(0, entries.findIndex((entry) => entry.type === "step.finished") + 1)
    const journal = openSqlite(path, aesGcmCodec(keyA))
    for (const entry of kept) journal.append(entry)
    const resumed = await secrets.resume("cut", { journal, models: models() })
    expect(resumed).toMatchObject({ status: "awaiting-human", step: "review", steps: { charge: { orderId: "A-2", charged: true } } })
    const history = await journal.read("cut")
    expect(history.filter((entry) => entry.type === "tool.called")).toHaveLength(1)
    expect(history.slice(0, kept.length)).toEqual(kept)

    const report = await replay(secrets, await journal.read("decided"))
    expect(report.identical).toBe(true)
  })

  it("refuses to read with a wrong key: a CodecError naming the run and the seq, never the key", async () => {
    const path = join(temporaryFolder(), "runs.db")
    await secrets.run({ orderId: "A-3", ending: "review" }, { runId: "locked", journal: openSqlite(path, aesGcmCodec(keyA)), models: models() })
    const wrong = openSqlite(path, aesGcmCodec(keyB))
    const read = await wrong.read("locked").catch((error: unknown) => error)
    expect(read).toBeInstanceOf(CodecError)
    expect(read).toMatchObject({ name: "CodecError", runId: "locked", seq: 0, operation: "decode" })
    expect((read as Error).message).toMatch(/^cannot decode seq 0 of run locked: it was encrypted with key id "[0-9a-f]{12}"/)
    await expect(wrong.loadSnapshot("locked")).rejects.toMatchObject({ name: "CodecError", seq: "snapshot" })
    await expect(secrets.decide("locked", "review", { approve: true }, { journal: wrong, models: models() })).rejects.toBeInstanceOf(CodecError)
    await expect(secrets.resume("locked", { journal: wrong, models: models() })).rejects.toBeInstanceOf(CodecError)
    expectNoKey(`${(read as Error).message} ${String((read as Error).stack)}`)
    // Without any codec the entries are not events: the run is refused, not run on garbage.
    await expect(secrets.resume("locked", { journal: openSqlite(path), models: models() })).rejects.toBeInstanceOf(ResumeError)
  })
})

describe("the CLI with SWITCHBOARD_JOURNAL_KEY", () => {
  it("writes, decides and shows an encrypted journal with the key, and says what is wrong in one line without it", { timeout: 60_000 }, async () => {
    const path = join(temporaryFolder(), "runs.db")
    const journal = `sqlite:${path}`
    const key = { SWITCHBOARD_JOURNAL_KEY: `2026:${keyA.toString("base64")}` }
    const run = await startCli(["run", pipelineFile, "--input", '{"orderId":"CLI-77","ending":"review"}', "--journal", journal, "--json"], key).finished
    expect(run.code, run.stderr).toBe(3)
    const { runId } = JSON.parse(run.stdout) as { runId: string }
    expect(readFileSync(path).toString("latin1")).not.toContain("CLI-77")

    const decided = await startCli(["decide", pipelineFile, runId, "review", "--decision", '{"approve":true}', "--journal", journal, "--json"], key).finished
    expect(decided.code, decided.stderr).toBe(0)
    const shown = await startCli(["show", runId, "--journal", journal, "--json"], key).finished
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain("CLI-77")
    expect(shown.stdout).toContain('"apiKey": "[redacted]"')
    expect(shown.stdout).not.toContain(toolSecret)

    const wrong = await startCli(["show", runId, "--journal", journal, "--json"], { SWITCHBOARD_JOURNAL_KEY: `2026:${keyB.toString("base64")}` }).finished
    expect(wrong.code).toBe(2)
    expect(wrong.stderr.trim().split("\n")).toEqual([
      `switchboard: cannot decode seq 0 of run ${runId}: key "2026" does not open it: a different key under that id, or the data was altered`,
    ])
    const malformed = await startCli(["show", runId, "--journal", journal], { SWITCHBOARD_JOURNAL_KEY: randomBytes(16).toString("hex") }).finished
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(/^switchboard: SWITCHBOARD_JOURNAL_KEY: aesGcmCodec: key 1 has 32 hex characters; AES-256 needs 64/)
    for (const output of [run, decided, shown, wrong, malformed]) expectNoKey(output.stdout + output.stderr)
    const listed = await cli("runs", "--journal", journal, "--json")
    expect(listed.stdout).toContain(runId)
  })
})

const server = await locatePostgres()
describe.skipIf(!server.available)("a Postgres journal with aesGcmCodec", () => {
  const schemas: string[] = []
  afterAll(async () => {
    if (server.available) await dropSchemas(server.url, schemas)
  })
  const openPostgres = () => {
    const schema = freshSchema()
    schemas.push(schema)
    const journal = postgresJournal({ connectionString: server.available ? server.url : "", schema, connectTimeoutMs: 2000, codec: aesGcmCodec(keyA) })
    closers.push(journal.close)
    return journal
  }
  describe("Journal contract", () => journalContract(openPostgres))

  it("lists runs by their clear fields and keeps the payloads encrypted", async () => {
    const journal = openPostgres()
    const paused = await secrets.run({ orderId: "PG-5", ending: "review" }, { runId: "pg-paused", journal, models: models() })
    expect(paused.status).toBe("awaiting-human")
    expect(await journal.runs()).toEqual([expect.objectContaining({ runId: "pg-paused", pipeline: "secrets", status: "awaiting-human" })])
    const client = new pg.Client({ connectionString: server.available ? server.url : "", connectionTimeoutMillis: 2000 })
    await client.connect()
    try {
      const rows = await client.query(
        `SELECT data::text AS data FROM "${journal.schema}".journal UNION ALL SELECT snapshot::text FROM "${journal.schema}".runs`,
      )
      expect(rows.rows.length).toBeGreaterThan(3)
      for (const row of rows.rows as Array<{ data: string }>) {
        expect(row.data).not.toContain("PG-5")
        expect(row.data).toContain('"$encoded":"aesgcm1:')
      }
    } finally {
      await client.end()
    }
    const done = await secrets.decide("pg-paused", "review", { approve: false }, { journal, models: models() })
    expect(done).toMatchObject({ status: "done", output: { approve: false } })
    expect(await journal.runs()).toEqual([expect.objectContaining({ runId: "pg-paused", status: "done" })])
  })
})
