// Shared by the Restate tests: a real restate-server from the npm package, service processes that
// can be killed with SIGKILL and started again, and a way to read a run's projected journal.
import { type ChildProcess, spawn } from "node:child_process"
import { restateServerBinary } from "../../src/engines/restate/index.ts"
import type { JournalEntry } from "../../src/index.ts"

const serviceScript = new URL("./service-process.ts", import.meta.url).pathname

/** Why the Restate tests cannot run here, or undefined when they can. */
export const skipReason = (): string | undefined =>
  restateServerBinary() === undefined ? `no restate-server binary for ${process.platform}-${process.arch} (install @restatedev/restate-server)` : undefined

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A service process serving the test pipelines on a fixed port. */
export interface ServiceProcess {
  readonly port: number
  readonly url: string
  readonly pid: number | undefined
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>
  /** Starts it again on the same port and data. */
  restart(): Promise<void>
}

const children = new Set<ChildProcess>()

/** Kills every service process still running. */
export const killServices = () => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
}

const spawnService = (args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serviceScript, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } })
    children.add(child)
    let errors = ""
    let output = ""
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const port = /listening (\d+)/.exec(output)?.[1]
      if (port !== undefined) resolve({ child, port: Number(port) })
    })
    child.once("exit", (code) => {
      children.delete(child)
      if (code !== null && code !== 0) reject(new Error(`service process exited ${code}: ${errors}`))
    })
  })

/** Starts a service process: `directory` holds its SQLite projection and its step logs. */
export const startService = async (
  directory: string,
  options: {
    readonly port?: number
    readonly stepMs?: number
    readonly chargeMs?: number
    readonly humanTimeout?: string
    readonly env?: NodeJS.ProcessEnv
  } = {},
): Promise<ServiceProcess> => {
  const args = (port: number) => [String(port), directory, String(options.stepMs ?? 50), String(options.chargeMs ?? 2000), options.humanTimeout ?? "4s"]
  let { child, port } = await spawnService(args(options.port ?? 0), options.env ?? {})
  const service: ServiceProcess = {
    get port() {
      return port
    },
    get url() {
      return `http://127.0.0.1:${port}`
    },
    get pid() {
      return child.pid
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGKILL")
      await exited
    },
    restart: async () => {
      ;({ child, port } = await spawnService(args(port), options.env ?? {}))
    },
  }
  return service
}

/** The projection as events without timings: what must match the local runtime's journal. */
export const shapeOf = (entries: readonly JournalEntry[]) =>
  entries.map((entry) => {
    const { at: _at, seq, runId: _runId, ...rest } = entry as JournalEntry & Record<string, unknown>
    const { durationMs: _duration, elapsedMs: _elapsed, structure: _structure, deadline: _deadline, ...fields } = rest
    return { seq, ...fields }
  })
