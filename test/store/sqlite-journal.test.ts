import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, human, llm, memoryJournal, pipeline, route, sqliteJournal, type Journal, type JournalEntry, JournalConflictError } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const folders: string[] = []
const closers: Array<() => void> = []
const temporaryFile = (name = "runs.db") => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-journal-"))
  folders.push(folder)
  return join(folder, name)
}
const openSqlite = (path: string) => {
  const journal = sqliteJournal({ path })
  closers.push(journal.close)
  return journal
}

afterEach(() => {
  for (const close of closers.splice(0)) close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

const started = (runId: string, seq = 0): JournalEntry => ({ seq, type: "run.started", runId, pipeline: "p", input: { ticket: "hi", nested: [1, { a: null }] }, at: 1000 })
const stepStarted = (runId: string, seq: number, step = "classify"): JournalEntry => ({ seq, type: "step.started", runId, step, visit: 1, at: 1000 + seq })

const contract: Array<[string, () => Journal]> = [
  ["memoryJournal", () => memoryJournal()],
  ["sqliteJournal (file)", () => openSqlite(temporaryFile())],
  ["sqliteJournal (:memory:)", () => openSqlite(":memory:")],
]

describe.each(contract)("Journal contract: %s", (_name, open) => {
  it("reads back a run's entries in seq order, separately per run", async () => {
    const journal = open()
    await journal.append(started("r1"))
    await journal.append(started("r2"))
    await journal.append(stepStarted("r1", 1))
    await journal.append(stepStarted("r1", 2, "answer"))
    expect(await journal.read("r1")).toEqual([started("r1"), stepStarted("r1", 1), stepStarted("r1", 2, "answer")])
    expect(await journal.read("r2")).toEqual([started("r2")])
    expect(await journal.read("unknown")).toEqual([])
  })

  it("rejects a seq gap and a repeated seq, keeping what was written", async () => {
    const journal = open()
    await journal.append(started("r1"))
    expect(() => journal.append(stepStarted("r1", 2))).toThrow(/run r1: expected seq 1, got 2/)
    expect(() => journal.append(stepStarted("r1", 0))).toThrow(JournalConflictError)
    expect(() => journal.append(stepStarted("r1", 0))).toThrow(/run r1: seq 0 is already written/)
    expect(() => journal.append(stepStarted("r2", 1))).toThrow(/run r2: expected seq 0, got 1/)
    expect(await journal.read("r1")).toEqual([started("r1")])
  })

  it("round-trips a snapshot, and has none for an unknown run", async () => {
    const journal = open()
    const snapshot = { status: "active", value: "review", context: { steps: { classify: { kind: "bug" } }, visits: { classify: 1 } } }
    await journal.saveSnapshot("r1", snapshot)
    snapshot.context.visits.classify = 99
    expect(await journal.loadSnapshot("r1")).toEqual({ ...snapshot, context: { ...snapshot.context, visits: { classify: 1 } } })
    await journal.saveSnapshot("r1", { value: "done" })
    expect(await journal.loadSnapshot("r1")).toEqual({ value: "done" })
    expect(await journal.loadSnapshot("unknown")).toBeUndefined()
  })
})

describe("sqliteJournal", () => {
  it("keeps entries and snapshots after the file is closed and reopened, and continues the seq", async () => {
    const path = temporaryFile(join("nested", "deeper", "runs.db"))
    const first = sqliteJournal({ path })
    first.append(started("r1"))
    first.append(stepStarted("r1", 1))
    first.saveSnapshot("r1", { value: "classify" })
    first.close()

    const second = openSqlite(path)
    expect(await second.read("r1")).toEqual([started("r1"), stepStarted("r1", 1)])
    expect(await second.loadSnapshot("r1")).toEqual({ value: "classify" })
    expect(() => second.append(stepStarted("r1", 1))).toThrow(/seq 1 is already written \(next is 2\)/)
    second.append(stepStarted("r1", 2))
    expect((await second.read("r1")).map((entry) => entry.seq)).toEqual([0, 1, 2])
  })

  it("lists runs with the status their lifecycle events give them", () => {
    const journal = openSqlite(temporaryFile())
    journal.append({ seq: 0, type: "run.started", runId: "waits", pipeline: "triage", input: {}, at: 10 })
    journal.append({ seq: 1, type: "human.waiting", runId: "waits", step: "review", visit: 1, at: 20 })
    journal.append({ seq: 0, type: "run.started", runId: "ends", pipeline: "triage", input: {}, at: 30 })
    journal.append({ seq: 1, type: "run.finished", runId: "ends", status: "stopped", durationMs: 5, at: 40 })
    journal.append({ seq: 0, type: "run.started", runId: "runs", pipeline: "other", input: {}, at: 50 })
    expect(journal.runs()).toEqual([
      { runId: "runs", pipeline: "other", status: "running", updatedAt: 50 },
      { runId: "ends", pipeline: "triage", status: "stopped", updatedAt: 40 },
      { runId: "waits", pipeline: "triage", status: "awaiting-human", updatedAt: 20 },
    ])
  })

  it("refuses an event that is not JSON, naming the run and seq", () => {
    const journal = openSqlite(":memory:")
    expect(() => journal.append({ seq: 0, type: "run.started", runId: "r1", pipeline: "p", input: { big: 1n }, at: 1 })).toThrow(/run r1: event 0 \(run.started\) is not JSON/)
  })

  it("is not loaded by importing the package", async () => {
    const script = 'await import("./src/index.ts"); process.stdout.write(JSON.stringify(process.moduleLoadList.filter((name) => name.includes("sqlite"))))'
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", script], { cwd: join(import.meta.dirname, "../..") })
    expect(JSON.parse(stdout)).toEqual([])
  })
})

describe("a run paused on a human step, decided from a new sqliteJournal", () => {
  const Review = z.object({ approve: z.boolean(), note: z.string() })
  const publishing = pipeline({ id: "publishing", input: z.object({ topic: z.string() }) })
    .step("draft", llm({ model: "writer", prompt: ({ input }) => `Write about ${input.topic}` }))
    .step("review", human({ decision: Review, timeout: "24h", prompt: ({ steps }) => `Approve "${steps.draft}"?` }))
    .step("publish", fn(({ steps }) => `published: ${steps.draft} (${steps.review?.note})`))
    .edges({ draft: "review", review: { next: route(["publish", "done"], ({ output }) => (output.approve ? "publish" : "done")), timeout: "done" }, publish: "done" })

  it("finishes in the second journal with the whole history in seq order", async () => {
    const path = temporaryFile()
    const first = sqliteJournal({ path })
    const paused = await publishing.run({ topic: "tides" }, { models: { writer: scriptedModel(["Tides rise."]) }, journal: first })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review", prompt: 'Approve "Tides rise."?' })
    expect(first.runs()).toEqual([expect.objectContaining({ runId: paused.runId, pipeline: "publishing", status: "awaiting-human" })])
    first.close()

    const second = openSqlite(path)
    const result = await publishing.decide(paused.runId, "review", { approve: true, note: "lovely" }, { journal: second })
    expect(result).toMatchObject({ status: "done", step: "publish", output: "published: Tides rise. (lovely)" })

    const history = await second.read(paused.runId)
    expect(history.map((entry) => entry.seq)).toEqual(history.map((_, index) => index))
    const types = history.map((entry) => (entry.type === "step.started" || entry.type === "step.finished" ? `${entry.type} ${entry.step}` : entry.type))
    expect(types.filter((type) => type !== "route.taken")).toEqual([
      "run.started",
      "step.started draft",
      "step.finished draft",
      "human.waiting",
      "human.decided",
      "step.started publish",
      "step.finished publish",
      "run.finished",
    ])
    expect(history.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
    expect(second.runs()).toEqual([expect.objectContaining({ runId: paused.runId, status: "done" })])
  })
})
