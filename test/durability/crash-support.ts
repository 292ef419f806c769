// Shared by the kill -9 tests: worker processes, and the invariants that must hold afterwards.
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { JournalEntry } from "../../src/index.ts"

const workerScript = new URL("./crash-worker.ts", import.meta.url).pathname
const children = new Set<ChildProcess>()

/** Kills every worker still running (after a test, whatever happened). */
export const killAll = () => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const startedSteps = (logs: string): number => {
  try {
    return readFileSync(join(logs, "executions.log"), "utf8").split("\n").length - 1
  } catch {
    return 0
  }
}

/**
 * Waits until workers have started `steps` more steps (so a kill lands mid-run even on a slow or
 * busy machine), plus a random few milliseconds; gives up waiting after `timeoutMs`.
 */
export const afterProgress = async (logs: string, steps: number, timeoutMs = 10_000) => {
  const target = startedSteps(logs) + steps
  const deadline = Date.now() + timeoutMs
  while (startedSteps(logs) < target && Date.now() < deadline) await sleep(5)
  await sleep(Math.random() * 30)
}

/** Starts a worker process (by default the crash worker here) and resolves once it is taking runs. */
export const startWorker = (journal: string, logs: string, env: NodeJS.ProcessEnv = process.env, script = workerScript): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, journal, logs], { env, stdio: ["ignore", "pipe", "pipe"] })
    children.add(child)
    let errors = ""
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    child.stdout?.once("data", () => resolve(child))
    child.once("exit", (code) => {
      children.delete(child)
      if (code !== null && code !== 0) reject(new Error(`worker exited ${code}: ${errors}`))
    })
  })

export const kill = async (child: ChildProcess) => {
  const exited = new Promise((resolve) => child.once("exit", resolve))
  child.kill("SIGKILL")
  await exited
}

/** What must hold once every run is done, whatever was killed when. */
export const checkInvariants = (journals: ReadonlyMap<string, readonly JournalEntry[]>, logs: string, killedPids: ReadonlySet<number>) => {
  const problems: string[] = []
  for (const [runId, entries] of journals) {
    if (entries.some((entry, index) => entry.seq !== index)) problems.push(`${runId}: seq not contiguous`)
    const finished = entries.filter((entry) => entry.type === "step.finished")
    const keys = finished.map((entry) => (entry.type === "step.finished" ? `${entry.step}:${entry.visit}` : ""))
    if (new Set(keys).size !== keys.length) problems.push(`${runId}: a step visit finished twice`)
    if (keys.join(",") !== "prepare:1,charge:1,confirm:1") problems.push(`${runId}: finished steps ${keys.join(",")}`)
    const end = entries.at(-1)
    if (end?.type !== "run.finished" || end.status !== "done") problems.push(`${runId}: ends with ${end?.type}`)
  }
  // A step may start again only if the process that first started it was killed before it finished.
  const starts = new Map<string, number[]>()
  for (const line of readFileSync(join(logs, "executions.log"), "utf8").trim().split("\n")) {
    const [key = "", pid = ""] = line.split(" ")
    starts.set(key, [...(starts.get(key) ?? []), Number(pid)])
  }
  for (const [key, pids] of starts) {
    for (const pid of pids.slice(0, -1)) if (!killedPids.has(pid)) problems.push(`${key} ran again although ${pid} was not killed`)
  }
  const effects = readFileSync(join(logs, "effects.log"), "utf8").trim().split("\n")
  if (new Set(effects).size !== effects.length) problems.push("an idempotent effect happened twice")
  if (effects.length !== journals.size) problems.push(`${effects.length} effects for ${journals.size} runs`)
  return { problems, reruns: [...starts.values()].filter((pids) => pids.length > 1).length }
}
