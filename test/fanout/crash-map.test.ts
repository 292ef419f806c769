// Kill -9 during a map: worker processes execute map runs from a SQLite journal and are killed
// mid-list; when every run is done, no item finished twice, no finished item ran again, no effect
// happened twice, and every output holds every item in input order.
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { sqliteJournal } from "../../src/index.ts"
import { afterProgress, kill, killAll, sleep, startWorker as startMapWorker } from "../durability/crash-support.ts"
import { crashyMap, itemCount } from "./crash-map-worker.ts"

const workerScript = new URL("./crash-map-worker.ts", import.meta.url).pathname
const folders: string[] = []

const startWorker = (path: string, logs: string) => startMapWorker(path, logs, process.env, workerScript)

afterEach(() => {
  killAll()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

describe("kill -9 during a map (SQLite)", () => {
  it("finishes every item exactly once in the journal and runs no finished item again", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-map-crash-"))
    folders.push(folder)
    const path = join(folder, "runs.db")
    const journal = sqliteJournal({ path })
    const runIds = [await crashyMap.submit({ base: 100 }, { journal }), await crashyMap.submit({ base: 200 }, { journal })]
    const killed = new Set<number>()
    for (let round = 0; round < 2; round++) {
      const child = await startWorker(path, folder)
      await afterProgress(folder, 4 + Math.floor(Math.random() * 6))
      killed.add(child.pid ?? -1)
      await kill(child)
    }
    const survivor = await startWorker(path, folder)
    const deadline = Date.now() + 60_000
    while (journal.runs().some((run) => run.status !== "done")) {
      if (Date.now() > deadline) throw new Error(`runs not done: ${JSON.stringify(journal.runs())}`)
      await sleep(50)
    }
    await kill(survivor)
    const problems: string[] = []
    for (const runId of runIds) {
      const entries = await journal.read(runId)
      const finished = entries.flatMap((entry) => (entry.type === "step.finished" ? [entry.step] : []))
      const items = finished.filter((step) => step.startsWith("charges["))
      if (new Set(items).size !== items.length) problems.push(`${runId}: an item finished twice`)
      if (items.length !== itemCount) problems.push(`${runId}: ${items.length} items finished`)
      if (entries.filter((entry) => entry.type === "map.listed").length !== 1) problems.push(`${runId}: map.listed journaled more than once`)
      const end = entries.at(-1)
      if (end?.type !== "run.finished" || end.status !== "done") problems.push(`${runId}: ends with ${end?.type}`)
      const base = runId === runIds[0] ? 100 : 200
      const output = entries.find((entry) => entry.type === "step.finished" && entry.step === "charges")
      const expected = Array.from({ length: itemCount }, (_, index) => `receipt-${base + index}`)
      if (output?.type !== "step.finished" || JSON.stringify(output.output) !== JSON.stringify(expected))
        problems.push(`${runId}: output ${JSON.stringify(output)}`)
    }
    journal.close()
    // An item may start again only if the process that first started it was killed.
    const starts = new Map<string, number[]>()
    for (const line of readFileSync(join(folder, "executions.log"), "utf8").trim().split("\n")) {
      const [key = "", pid = ""] = line.split(" ")
      starts.set(key, [...(starts.get(key) ?? []), Number(pid)])
    }
    for (const [key, pids] of starts)
      for (const pid of pids.slice(0, -1)) if (!killed.has(pid)) problems.push(`${key} ran again although ${pid} was not killed`)
    const effects = readFileSync(join(folder, "effects.log"), "utf8").trim().split("\n")
    if (new Set(effects).size !== effects.length) problems.push("an idempotent effect happened twice")
    if (effects.length !== runIds.length * itemCount) problems.push(`${effects.length} effects for ${runIds.length * itemCount} items`)
    expect(problems).toEqual([])
    // Every item key is runId:charges[i]:1, and some item did start twice: the kills landed mid-map.
    expect([...starts.keys()].every((key) => /^[\w-]+:charges\[\d+\]:1$/.test(key))).toBe(true)
    expect([...starts.values()].some((pids) => pids.length > 1)).toBe(true)
  }, 120_000)
})
