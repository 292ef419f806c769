import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type JournalEntry, memoryJournal, sqliteJournal } from "../../src/index.ts"
import { orders } from "./fixtures/orders.pipeline.ts"
import { cli, type Running, removeTemporaryFolders, startCli, temporaryFolder } from "./run-cli.ts"

const fixture = "test/cli/fixtures/orders.pipeline.ts"
const running = new Set<Running>()

afterEach(() => {
  for (const process of running) process.child.kill("SIGKILL")
  running.clear()
  removeTemporaryFolders()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const linesOf = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter((line) => line !== "")
    : []

/**
 * A SQLite journal holding a finished run's first entries, up to and including the start of its
 * `charge` step: what a process that died while charging leaves behind.
 */
const crashedWhileCharging = async (database: string, runId: string): Promise<readonly JournalEntry[]> => {
  const finished = memoryJournal()
  expect(await orders.run({ amount: 5 }, { journal: finished, runId })).toMatchObject({ status: "done" })
  const entries = await finished.read(runId)
  const kept = entries.slice(0, entries.findIndex((entry) => entry.type === "step.started" && entry.step === "charge") + 1)
  const journal = sqliteJournal({ path: database })
  for (const entry of kept) journal.append(entry)
  journal.close()
  return kept
}

describe("switchboard resume", () => {
  it("continues a crashed run from its journal: the finished step is not run again, the one in flight runs once with the same key", async () => {
    const folder = temporaryFolder()
    const database = join(folder, "runs.db")
    const effects = join(folder, "effects.log")
    await crashedWhileCharging(database, "crashed-1")

    const resumed = await startCli(["resume", fixture, "crashed-1", "--journal", `sqlite:${database}`], { ORDERS_EFFECTS: effects }).finished
    expect(resumed.stderr).toBe("")
    expect(resumed.code).toBe(0)
    const lines = resumed.stdout.trimEnd().split("\n")
    expect(lines.slice(0, 8)).toEqual([
      "↺ orders (run crashed-1) resumes from its journal",
      expect.stringMatching(/^✓ charge \d+ms$/),
      "  charge ⇒ confirm",
      "→ confirm",
      expect.stringMatching(/^✓ confirm \d+ms$/),
      "  confirm ⇒ done",
      expect.stringMatching(/^■ done in \d+ms$/),
      "done: output of confirm",
    ])
    expect(JSON.parse(lines.slice(8).join("\n"))).toEqual({ confirmed: "r-10", key: "crashed-1:charge:1" })
    expect(linesOf(effects)).toEqual(["crashed-1:charge:1"])

    const journal = sqliteJournal({ path: database })
    const entries = await journal.read("crashed-1")
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "crashed-1", status: "done" })])
    journal.close()
    expect(entries.filter((entry) => entry.type === "step.started").map((entry) => entry.type === "step.started" && entry.step)).toEqual([
      "prepare",
      "charge",
      "confirm",
    ])
  })

  it("prints only the result with --json", async () => {
    const database = join(temporaryFolder(), "runs.db")
    await crashedWhileCharging(database, "crashed-2")
    const resumed = await cli("resume", fixture, "crashed-2", "--journal", `sqlite:${database}`, "--json")
    expect(resumed.code).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "done", runId: "crashed-2", output: { confirmed: "r-10" }, steps: { prepare: { amount: 10 } } })
  })

  it("exits 2 for a run that has already finished, and for an unknown run, writing nothing", async () => {
    const database = join(temporaryFolder(), "runs.db")
    await crashedWhileCharging(database, "crashed-3")
    expect((await cli("resume", fixture, "crashed-3", "--journal", `sqlite:${database}`)).code).toBe(0)
    const journal = sqliteJournal({ path: database })
    const before = (await journal.read("crashed-3")).length

    const again = await cli("resume", fixture, "crashed-3", "--journal", `sqlite:${database}`)
    expect(again.code).toBe(2)
    expect(again.stderr).toBe("switchboard: cannot resume run crashed-3: it has already finished\n")
    const unknown = await cli("resume", fixture, "nope", "--journal", `sqlite:${database}`)
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe("switchboard: cannot resume run nope: the journal has no such run\n")
    expect((await journal.read("crashed-3")).length).toBe(before)
    expect(await journal.read("nope")).toEqual([])
    journal.close()
  })

  it("needs a durable journal", async () => {
    const { code, stderr } = await cli("resume", fixture, "r1", "--journal", "memory")
    expect(code).toBe(2)
    expect(stderr).toMatch(/resume needs the runs' journal: --journal sqlite:PATH or postgres:URL\[#schema\]/)
  })
})

describe("switchboard worker", () => {
  it("executes submitted runs, prints one line per run, and stops gracefully on SIGTERM", async () => {
    const folder = temporaryFolder()
    const database = join(folder, "runs.db")
    const effects = join(folder, "effects.log")
    const journal = sqliteJournal({ path: database })
    const runIds: string[] = []
    for (const amount of [1, 2, 3]) runIds.push(await orders.submit({ amount }, { journal }))

    const worker = startCli(["worker", fixture, "--journal", `sqlite:${database}`, "--poll", "50"], { ORDERS_EFFECTS: effects })
    running.add(worker)
    const deadline = Date.now() + 20_000
    while (journal.runs().some((run) => run.status !== "done") || worker.stdout().trim().split("\n").length < runIds.length) {
      if (Date.now() > deadline) throw new Error(`runs not done in time: ${JSON.stringify(journal.runs())}\n${worker.stdout()}${worker.stderr()}`)
      await sleep(50)
    }
    journal.close()
    worker.child.kill("SIGTERM")
    const { code, stdout, stderr } = await worker.finished
    running.delete(worker)

    expect(code).toBe(0)
    const lines = stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(runIds.length)
    for (const line of lines) expect(line).toMatch(/^\S+ done: output of confirm \(\d+ms\)$/)
    expect(lines.map((line) => line.split(" ")[0]).sort()).toEqual([...runIds].sort())
    expect(linesOf(effects).sort()).toEqual(runIds.map((runId) => `${runId}:charge:1`).sort())
    expect(stderr).toMatch(/executing runs of orders from sqlite:.*runs\.db \(concurrency 10\)/)
    expect(stderr).toMatch(/SIGTERM: stopping, waiting for \d+ run\(s\) in flight/)
  })

  it("lets the step in flight finish before it exits on SIGTERM, leaving the run running (drained)", async () => {
    const folder = temporaryFolder()
    const database = join(folder, "runs.db")
    const effects = join(folder, "effects.log")
    const journal = sqliteJournal({ path: database })
    const runId = await orders.submit({ amount: 7 }, { journal })
    const worker = startCli(["worker", fixture, "--journal", `sqlite:${database}`, "--poll", "50"], { ORDERS_EFFECTS: effects, ORDERS_CHARGE_MS: "1500" })
    running.add(worker)
    const deadline = Date.now() + 20_000
    // The charge has happened; its answer takes 1.5 s more.
    while (linesOf(effects).length === 0) {
      if (Date.now() > deadline) throw new Error(`the charge did not start: ${worker.stderr()}`)
      await sleep(20)
    }
    worker.child.kill("SIGTERM")
    const { code, stdout, stderr } = await worker.finished
    running.delete(worker)
    expect(code).toBe(0)
    expect(stderr).toMatch(/SIGTERM: stopping, waiting for 1 run\(s\) in flight/)
    // Drained: the charge finished, confirm never started, the next worker finishes the run (test/cli/drain.test.ts).
    expect(stdout).toBe("")
    expect((await journal.read(runId)).filter((entry) => entry.type === "step.finished").map((entry) => entry.type === "step.finished" && entry.step)).toEqual([
      "prepare",
      "charge",
    ])
    expect(journal.runs()).toEqual([expect.objectContaining({ runId, status: "running" })])
    journal.close()
  })

  it("refuses the memory journal and a concurrency that is not a positive whole number", async () => {
    const memory = await cli("worker", fixture, "--journal", "memory")
    expect(memory.code).toBe(2)
    expect(memory.stderr).toMatch(/worker needs the runs' journal/)
    const zero = await cli("worker", fixture, "--journal", `sqlite:${join(temporaryFolder(), "runs.db")}`, "--concurrency", "0")
    expect(zero.code).toBe(2)
    expect(zero.stderr).toMatch(/--concurrency must be a positive whole number, got "0"/)
  })
})
