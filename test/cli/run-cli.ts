// The real CLI in a child process (Node runs the TypeScript source directly), for the CLI tests.
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const root = join(import.meta.dirname, "../..")
const main = join(root, "src/cli/main.ts")

/** How a CLI process ended. */
export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** A CLI process still running: its output so far, and how it ends. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  readonly finished: Promise<Finished>
}

/** Starts `switchboard ...args` and returns at once. */
export const startCli = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Running => {
  const child = spawn(process.execPath, [main, ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1", ...env } })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, finished }
}

/** Runs `switchboard ...args` to the end. */
export const cli = (...args: string[]): Promise<Finished> => startCli(args).finished

const folders: string[] = []

/** A temporary folder, removed by {@link removeTemporaryFolders}. */
export const temporaryFolder = (): string => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-cli-"))
  folders.push(folder)
  return folder
}

export const removeTemporaryFolders = (): void => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
}
