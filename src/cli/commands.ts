import type { RunEvent } from "../runtime/events.ts"
import { memoryJournal, type Journal } from "../runtime/journal.ts"
import type { RunResult } from "../runtime/result.ts"
import { sqliteJournal } from "../store/sqlite-journal.ts"
import { loadPipeline, parseInput, UsageError } from "./load-pipeline.ts"
import { formatEvent, formatResult, redact } from "./progress.ts"

/** Where the CLI writes: stdout for progress and results, stderr for errors. */
export interface Output {
  readonly out: (line: string) => void
  readonly error: (line: string) => void
}

/** Options shared by `run` and `decide`. */
export interface CommandOptions {
  readonly json?: boolean
  readonly journal?: string
  readonly pipeline?: string
}

/**
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 awaiting a human or stopped.
 *
 * @example
 * process.exitCode = exitCodes[result.status]
 */
export const exitCodes = { done: 0, failed: 1, usage: 2, "awaiting-human": 3, stopped: 3 } as const

interface OpenedJournal {
  readonly journal: Journal
  readonly durable: string | undefined
  readonly close: () => void
}

/**
 * Opens the journal a `--journal` value names: `memory` (the default) or `sqlite:PATH`.
 *
 * @example
 * const { journal, close } = openJournal("sqlite:.switchboard/runs.db")
 */
export const openJournal = (spec = "memory"): OpenedJournal => {
  const path = sqlitePathOf(spec)
  if (path === undefined) return { journal: memoryJournal(), durable: undefined, close: () => {} }
  try {
    const journal = sqliteJournal({ path })
    return { journal, durable: spec, close: journal.close }
  } catch (error) {
    throw new UsageError(`--journal ${spec}: cannot open the database: ${error instanceof Error ? error.message : String(error)}`)
  }
}

/** The database path of a `--journal sqlite:PATH` value; `undefined` for `memory`; a usage error otherwise. */
const sqlitePathOf = (spec = "memory"): string | undefined => {
  if (spec === "memory") return undefined
  if (spec.startsWith("sqlite:") && spec.length > "sqlite:".length) return spec.slice("sqlite:".length)
  throw new UsageError(`--journal must be "memory" or "sqlite:PATH", got "${spec}"`)
}

/** `switchboard run <file>`: runs a pipeline file and prints its progress and result. */
export const runCommand = async (file: string, options: CommandOptions & { readonly input?: string }, output: Output): Promise<number> => {
  const input = parseInput(options.input)
  sqlitePathOf(options.journal)
  const loaded = await loadPipeline(file, options.pipeline)
  const checked = loaded.pipeline.input.safeParse(input)
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `  ${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    throw new UsageError(`--input does not match the input of pipeline "${loaded.pipeline.id}":\n${issues.join("\n")}`)
  }
  return withJournal(options.journal, async ({ journal, durable }) => {
    const result = await interruptible((signal) =>
      loaded.pipeline.run(checked.data, { models: loaded.models, journal, signal, ...progress(options, output) }))
    const hint = result.status !== "awaiting-human" ? undefined
      : durable === undefined ? "(journaled in memory only: run with --journal sqlite:PATH to decide it later)"
      : `continue: switchboard decide ${file} ${result.runId} ${result.step} --decision '<json>' --journal ${durable}`
    return report(result, options, output, hint)
  })
}

/** `switchboard decide <file> <runId> <step>`: delivers a human decision to a paused run and continues it. */
export const decideCommand = async (
  file: string,
  runId: string,
  step: string,
  options: CommandOptions & { readonly decision?: string },
  output: Output,
): Promise<number> => {
  if (sqlitePathOf(options.journal) === undefined) throw new UsageError("decide needs the run's journal: --journal sqlite:PATH")
  if (options.decision === undefined) throw new UsageError("decide needs --decision JSON|@file.json")
  const decision = parseInput(options.decision, "--decision")
  const loaded = await loadPipeline(file, options.pipeline)
  return withJournal(options.journal, async ({ journal }) => {
    let result: RunResult<Record<string, unknown>>
    try {
      result = await interruptible((signal) => loaded.pipeline.decide(runId, step, decision, { models: loaded.models, journal, signal, ...progress(options, output) }))
    } catch (error) {
      // DecisionError (not waiting there, a decision that fails the schema) or ResumeError (unknown or finished run).
      throw new UsageError(error instanceof Error ? error.message : String(error))
    }
    return report(result, options, output, undefined)
  })
}

/** `switchboard runs`: lists the runs of a sqlite journal, most recently updated first. */
export const runsCommand = (options: Pick<CommandOptions, "json" | "journal">, output: Output): number => {
  const path = sqlitePathOf(options.journal)
  if (path === undefined) throw new UsageError("runs needs a durable journal: --journal sqlite:PATH")
  const journal = sqliteJournal({ path })
  try {
    const runs = journal.runs()
    if (options.json === true) output.out(JSON.stringify(runs, null, 2))
    else if (runs.length === 0) output.out("no runs")
    else for (const run of runs) output.out(`${run.runId}  ${run.pipeline}  ${run.status}  ${new Date(run.updatedAt).toISOString()}`)
    return exitCodes.done
  } finally {
    journal.close()
  }
}

const withJournal = async (spec: string | undefined, use: (opened: OpenedJournal) => Promise<number>): Promise<number> => {
  const opened = openJournal(spec)
  try {
    return await use(opened)
  } finally {
    opened.close()
  }
}

const progress = (options: CommandOptions, output: Output): { onEvent?: (event: RunEvent) => void } =>
  options.json === true ? {} : {
    onEvent: (event) => {
      const line = formatEvent(event)
      if (line !== undefined) output.out(line)
    },
  }

// Ctrl-C cancels the run (journaled as failed) instead of killing the process mid-write.
const interruptible = async <T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const controller = new AbortController()
  const onInterrupt = () => controller.abort("interrupted (SIGINT)")
  process.once("SIGINT", onInterrupt)
  try {
    return await run(controller.signal)
  } finally {
    process.off("SIGINT", onInterrupt)
  }
}

const report = (result: RunResult<Record<string, unknown>>, options: CommandOptions, output: Output, hint: string | undefined): number => {
  const shown = result.status === "failed" ? { ...result, error: { ...result.error, message: redact(result.error.message) } } : result
  output.out(options.json === true ? JSON.stringify(shown, null, 2) : formatResult(result, hint))
  return exitCodes[result.status]
}
