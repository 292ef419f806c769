import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { sqliteJournal } from "../../src/index.ts"
import { reviews } from "./decide-crash-pipeline.ts"

const child = new URL("./decide-crash-child.ts", import.meta.url).pathname
const directory = mkdtempSync(join(tmpdir(), "decide-crash-"))
const running = new Set<ChildProcess>()
afterEach(() => {
  for (const process of running) process.kill("SIGKILL")
  running.clear()
})
afterAll(() => rmSync(directory, { recursive: true, force: true }))

// Starts the deciding process; resolves once it printed `after` (or exited), then kills it with SIGKILL after `delayMs`.
const decideAndKill = (database: string, runId: string, after: string, delayMs: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const decider = spawn(process.execPath, [child, database, directory, runId], { stdio: ["ignore", "pipe", "pipe"] })
    running.add(decider)
    let said = ""
    let errors = ""
    decider.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    decider.stdout.on("data", (chunk: Buffer) => {
      said += chunk.toString()
      if (said.split("\n").includes(after)) setTimeout(() => decider.kill("SIGKILL"), delayMs)
    })
    decider.once("exit", (code, signal) => {
      running.delete(decider)
      if (code !== null && code !== 0) reject(new Error(`decider exited ${code}: ${errors}`))
      else resolve(`${said.trim().split("\n").at(-1)} (${signal ?? "exited"})`)
    })
  })

describe("kill -9 between two decisions of one paused run (SQLite, real processes)", () => {
  it("loses neither decision and runs no finished sibling again, wherever the kill lands", async () => {
    const rounds = [
      ["legal", 0],
      ["legal", 5],
      ["ready", 0],
      ["ready", 15],
      ["ready", 40],
      ["legal", 30],
    ] as const
    const endings: string[] = []
    for (const [index, [after, delayMs]] of rounds.entries()) {
      const database = join(directory, `runs-${index}.db`)
      const journal = sqliteJournal({ path: database })
      const doc = `doc-${index}`
      const paused = await reviews(directory).run({ doc }, { journal })
      expect(paused.status).toBe("awaiting-human")
      const ended = await decideAndKill(database, paused.runId, after, delayMs)
      endings.push(ended)
      // Whatever was journaled before the kill stands; what is still pending is decided here.
      const decided = (await journal.read(paused.runId)).filter((entry) => entry.type === "human.decided").map((entry) => (entry as { step: string }).step)
      expect(decided.length, `${ended}: each decision journaled at most once`).toBe(new Set(decided).size)
      // Killed too late to interrupt anything: the decider finished the run itself.
      if (!(await journal.read(paused.runId)).some((entry) => entry.type === "run.finished")) {
        let result = await reviews(directory).resume(paused.runId, { journal })
        if (result.status === "awaiting-human") {
          const rest = Object.fromEntries((result.pending ?? []).map((wait) => [wait.path, { approve: wait.path === "work.legal" }]))
          result = await reviews(directory).decide(paused.runId, rest, { journal })
        }
        expect(result, ended).toMatchObject({ status: "done", output: "true/false/indexed" })
      }
      const entries = await journal.read(paused.runId)
      expect(
        entries.find((entry) => entry.type === "step.finished" && entry.step === "publish"),
        ended,
      ).toMatchObject({ output: "true/false/indexed" })
      expect(
        entries
          .filter((entry) => entry.type === "human.decided")
          .map((entry) => (entry as { step: string }).step)
          .sort(),
      ).toEqual(["work.legal", "work.tech"])
      // The sibling finished before the pause: no resume ran its effect again.
      expect(
        readFileSync(join(directory, "effects.log"), "utf8")
          .split("\n")
          .filter((line) => line === doc),
      ).toHaveLength(1)
      journal.close()
    }
    // At least one kill landed between the two decisions (after the first was journaled, before the run finished).
    expect(
      endings.some((ending) => ending.startsWith("legal (SIGKILL)")),
      endings.join(", "),
    ).toBe(true)
  }, 120_000)
})
