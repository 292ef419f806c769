// SIGTERM drains: a real `switchboard worker` and `switchboard run` let the step in flight finish,
// start no new one, and leave the run running in its journal for the next process to finish.
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type JournalEntry, sqliteJournal } from "../../src/index.ts"
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
        .split("\n")
        .filter((line) => line !== "")
    : []
const stepsOf = (entries: readonly JournalEntry[], type: "step.started" | "step.finished") =>
  entries.filter((entry) => entry.type === type).map((entry) => (entry as { step: string }).step)

// Waits until the charge tool has been called (its answer then takes ORDERS_CHARGE_MS more).
const chargeStarted = async (effects: string, process: Running) => {
  const deadline = Date.now() + 20_000
  while (linesOf(effects).length === 0) {
    if (Date.now() > deadline) throw new Error(`the charge did not start: ${process.stderr()}`)
    await sleep(20)
  }
}

describe("SIGTERM drains", () => {
  it("switchboard worker: the charge in flight finishes, confirm never starts, the run stays running; the next worker finishes it", {
    timeout: 60_000,
  }, async () => {
    const folder = temporaryFolder()
    const database = join(folder, "runs.db")
    const effects = join(folder, "effects.log")
    const journal = sqliteJournal({ path: database })
    const runId = await orders.submit({ amount: 7 }, { journal })
    const first = startCli(["worker", fixture, "--journal", `sqlite:${database}`, "--poll", "50"], { ORDERS_EFFECTS: effects, ORDERS_CHARGE_MS: "1500" })
    running.add(first)
    await chargeStarted(effects, first)
    first.child.kill("SIGTERM")
    const stopped = await first.finished
    running.delete(first)
    expect(stopped.code).toBe(0)
    expect(stopped.stderr).toMatch(/SIGTERM: stopping, waiting for 1 run\(s\) in flight to reach a step boundary/)
    expect(stopped.stdout).toBe("")
    const entries = await journal.read(runId)
    expect(stepsOf(entries, "step.finished")).toEqual(["prepare", "charge"])
    expect(stepsOf(entries, "step.started")).not.toContain("confirm")
    expect(entries.some((entry) => entry.type === "run.finished")).toBe(false)
    expect(journal.runs()).toEqual([expect.objectContaining({ runId, status: "running" })])

    const second = startCli(["worker", fixture, "--journal", `sqlite:${database}`, "--poll", "50"], { ORDERS_EFFECTS: effects })
    running.add(second)
    const deadline = Date.now() + 20_000
    while (!second.stdout().includes(`${runId} done`)) {
      if (Date.now() > deadline) throw new Error(`the second worker did not finish the run: ${second.stderr()}`)
      await sleep(50)
    }
    second.child.kill("SIGTERM")
    expect((await second.finished).code).toBe(0)
    running.delete(second)
    expect(journal.runs()).toEqual([expect.objectContaining({ runId, status: "done" })])
    expect(linesOf(effects)).toEqual([`${runId}:charge:1`])
    journal.close()
  })

  it("switchboard run: the run is left running after its step in flight, and resume finishes it", { timeout: 60_000 }, async () => {
    const folder = temporaryFolder()
    const database = join(folder, "runs.db")
    const effects = join(folder, "effects.log")
    const run = startCli(["run", fixture, "--input", '{"amount":3}', "--journal", `sqlite:${database}`, "--json"], {
      ORDERS_EFFECTS: effects,
      ORDERS_CHARGE_MS: "1500",
    })
    running.add(run)
    await chargeStarted(effects, run)
    run.child.kill("SIGTERM")
    const stopped = await run.finished
    running.delete(run)
    expect(stopped.code).toBe(1)
    const result = JSON.parse(stopped.stdout) as { runId: string; status: string; error: { _tag: string; message: string } }
    expect(result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining("was drained") } })
    const journal = sqliteJournal({ path: database })
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: result.runId, status: "running" })])
    journal.close()

    const resumed = await cli("resume", fixture, result.runId, "--journal", `sqlite:${database}`)
    expect(resumed.code).toBe(0)
    expect(linesOf(effects)).toEqual([`${result.runId}:charge:1`])
  })
})
