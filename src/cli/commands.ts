import type { InspectionEvent } from "xstate"
import type { RunEvent } from "../contract/events.ts"
import type { Journal } from "../contract/journal.ts"
import { jsonlLog } from "../observe/jsonl-log.ts"
import type { RunOptions } from "../run/create-runner.ts"
import type { RunResult } from "../run/result.ts"
import { formatAge, parseStatuses, runStatuses } from "./age.ts"
import { decisionSchemaLines } from "./decision-schema.ts"
import { isErrorNamed } from "./error-names.ts"
import { mask, type OpenedJournal, openJournal, parseJournal, resolveJournal } from "./journal-option.ts"
import { type LoadedPipeline, loadPipeline, parseInput, UsageError } from "./load-pipeline.ts"
import { formatEvent, formatResult, redact } from "./progress.ts"

/** Where the CLI writes: stdout for progress and results, stderr for errors. */
export interface Output {
  readonly out: (line: string) => void
  readonly error: (line: string) => void
  /** A live terminal view prints run events itself; without it each event is one `out` line. */
  readonly event?: (event: RunEvent) => void
}

/** Options shared by `run`, `decide` and `resume`. */
export interface CommandOptions {
  readonly json?: boolean
  readonly journal?: string
  readonly pipeline?: string
  /** XState inspection observer for the run (`--inspect`). */
  readonly inspect?: (event: InspectionEvent) => void
  /** Append every event of the run, as JSON lines, to this file (`--log`). */
  readonly log?: string
}

/**
 * Exit codes: 0 done, 1 failed, 2 usage error, 3 awaiting a human or stopped.
 *
 * @example
 * process.exitCode = exitCodes[result.status]
 */
export const exitCodes = { done: 0, failed: 1, usage: 2, "awaiting-human": 3, stopped: 3 } as const

/** `switchboard run <file>`: runs a pipeline file and prints its progress and result. */
export const runCommand = async (file: string, options: CommandOptions & { readonly input?: string }, output: Output): Promise<number> => {
  const input = parseInput(options.input)
  parseJournal(resolveJournal(options.journal))
  const loaded = await loadPipeline(file, options.pipeline)
  const checked = loaded.pipeline.input.safeParse(input)
  if (!checked.success) {
    const issues = checked.error.issues.map((issue) => `  ${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    throw new UsageError(`--input does not match the input of pipeline "${loaded.pipeline.id}":\n${issues.join("\n")}`)
  }
  return withJournal(options.journal, async ({ journal, durable }) => {
    const result = await interruptible((signal, drain) =>
      loaded.pipeline.run(checked.data, { models: loaded.models, journal, signal, drain, ...progress(options, output) }),
    )
    return report(result, options, output, decideHint(file, result, durable))
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
  requireDurable("decide", options.journal)
  const loaded = await loadPipeline(file, options.pipeline)
  const expected = () =>
    decisionSchemaLines(loaded.pipeline.definitions, step)
      .map((line) => `\n${line}`)
      .join("")
  if (options.decision === undefined) throw new UsageError(`decide needs --decision JSON|@file.json${expected()}`)
  const decision = parseInput(options.decision, "--decision")
  return withJournal(options.journal, async ({ journal, durable }) => {
    let result: RunResult<Record<string, unknown>>
    try {
      result = await interruptible((signal, drain) =>
        loaded.pipeline.decide(runId, step, decision, { models: loaded.models, journal, signal, drain, ...progress(options, output) }),
      )
    } catch (error) {
      // DecisionError (not waiting there, a decision that fails the schema) or ResumeError (unknown or finished run).
      const wrongShape = (error as { reason?: unknown }).reason === "invalid-decision"
      throw new UsageError(`${error instanceof Error ? error.message : String(error)}${wrongShape ? expected() : ""}`)
    }
    return report(result, options, output, decideHint(file, result, durable))
  })
}

/**
 * `switchboard resume <file> <runId>`: continues a run from its journal (after a crash, or a run
 * paused on a human step whose deadline may have passed). Finished steps are not run again.
 *
 * @example
 * process.exitCode = await resumeCommand("pipelines/orders.ts", runId, { journal: "sqlite:runs.db" }, output)
 */
export const resumeCommand = async (
  file: string,
  runId: string,
  options: CommandOptions & { readonly allowStructureChange?: boolean },
  output: Output,
): Promise<number> => {
  return continueCommand(file, options, output, {
    command: "resume",
    banner: (id) => `↺ ${id} (run ${runId}) resumes from its journal`,
    // Unknown, finished, foreign, changed (its message lists the changes), corrupt or claimed elsewhere.
    refusal: "ResumeError",
    continueRun: (pipeline, base) => pipeline.resume(runId, base),
  })
}

/** What {@link continueCommand} needs to know of one way of continuing a recorded run. */
export interface Continuation {
  readonly command: string
  /** The line printed before the run goes on (not with `--json`). */
  readonly banner: (pipelineId: string) => string
  /** The name of the error class by which the library refuses it: a usage error, exit 2. */
  readonly refusal: string
  readonly continueRun: (
    pipeline: LoadedPipeline["pipeline"],
    base: RunOptions & { readonly journal: Journal; readonly allowStructureChange?: true },
  ) => Promise<RunResult<Record<string, unknown>>>
  /** Printed after the run settles (not with `--json`). */
  readonly after?: (result: RunResult<Record<string, unknown>>) => string
}

/**
 * The shell of `resume`, `retry` and `fork`: a durable journal, the pipeline file, a drain on the
 * first signal, progress, the refusal as one line (exit 2), and the result with its next step.
 *
 * @example
 * return continueCommand(file, options, output, { command: "retry", banner, refusal: "RetryError", continueRun: (p, base) => p.retry(runId, base) })
 */
export const continueCommand = async (
  file: string,
  options: CommandOptions & { readonly allowStructureChange?: boolean },
  output: Output,
  continuation: Continuation,
): Promise<number> => {
  requireDurable(continuation.command, options.journal)
  const loaded = await loadPipeline(file, options.pipeline)
  return withJournal(options.journal, async ({ journal, durable }) => {
    if (options.json !== true) output.out(continuation.banner(loaded.pipeline.id))
    let result: RunResult<Record<string, unknown>>
    try {
      result = await interruptible((signal, drain) =>
        continuation.continueRun(loaded.pipeline, {
          models: loaded.models,
          journal,
          signal,
          drain,
          ...(options.allowStructureChange === true ? { allowStructureChange: true as const } : {}),
          ...progress(options, output),
        }),
      )
    } catch (error) {
      if (isErrorNamed(error, continuation.refusal)) throw new UsageError(error.message)
      throw error
    }
    const after = continuation.after?.(result)
    if (options.json !== true && after !== undefined) output.out(after)
    return report(result, options, output, decideHint(file, result, durable))
  })
}

export const runsCommand = async (
  options: Pick<CommandOptions, "json" | "journal"> & { readonly status?: string; readonly now?: () => number },
  output: Output,
): Promise<number> => {
  requireDurable("runs", options.journal)
  const { statuses, unknown } = parseStatuses(options.status)
  if (unknown !== undefined) throw new UsageError(`--status must be one or more of ${runStatuses.join(", ")} (comma-separated), got "${unknown}"`)
  return withJournal(options.journal, async ({ journal }) => {
    const runs = (await journal.runs()).filter((run) => statuses === undefined || statuses.includes(run.status))
    const now = (options.now ?? Date.now)()
    if (options.json === true) output.out(JSON.stringify(runs, null, 2))
    else if (runs.length === 0) output.out(statuses === undefined ? "no runs" : `no ${statuses.join(" or ")} runs`)
    else {
      const width = (pick: (run: (typeof runs)[number]) => string) => Math.max(...runs.map((run) => pick(run).length))
      const [ids, pipelines, states] = [width((run) => run.runId), width((run) => run.pipeline), width((run) => run.status)]
      for (const run of runs) {
        const owner = "owner" in run && run.owner !== undefined ? `  (executing on ${run.owner})` : ""
        output.out(`${run.runId.padEnd(ids)}  ${run.pipeline.padEnd(pipelines)}  ${run.status.padEnd(states)}  ${formatAge(now - run.updatedAt)}${owner}`)
      }
    }
    return exitCodes.done
  })
}

/**
 * Refuses the memory journal for a command that needs runs from another process (no `--journal`
 * means `SWITCHBOARD_JOURNAL`, else `sqlite:.switchboard/runs.db`).
 *
 * @example
 * requireDurable("resume", options.journal)
 */
export const requireDurable = (command: string, value: string | undefined): void => {
  if (parseJournal(resolveJournal(value)).kind === "memory") {
    throw new UsageError(`${command} needs the runs' journal: --journal sqlite:PATH or postgres:URL[#schema]`)
  }
}

/**
 * Opens a `--journal` (without one: `SWITCHBOARD_JOURNAL`, else `sqlite:.switchboard/runs.db`),
 * hands it to `use`, and closes it whatever happens.
 *
 * @example
 * const code = await withJournal("sqlite:runs.db", async ({ journal }) => exitCodes.done)
 */
export const withJournal = async (value: string | undefined, use: (opened: OpenedJournal) => Promise<number>): Promise<number> => {
  const opened = await openJournal(resolveJournal(value))
  try {
    return await use(opened)
  } finally {
    await opened.close()
  }
}

/**
 * How to continue a paused run from the shell (with the journal's password masked).
 *
 * @example
 * const hint = decideHint("orders.ts", result, "sqlite:runs.db")
 */
export const decideHint = (file: string, result: RunResult<Record<string, unknown>>, durable: string | undefined): string | undefined => {
  if (result.status !== "awaiting-human") return undefined
  if (durable === undefined) return "(journaled in memory only: run with --journal sqlite:PATH or postgres:URL to decide it later)"
  // A run paused inside fan-out waits at addresses (`approve[1]`): name the first, and where to see them all.
  const pending = result.pending ?? []
  const address = pending.length === 0 || pending[0]?.path === result.step ? result.step : `'${pending[0]?.path}'`
  const all = pending.length > 1 ? `\n(${pending.length} decisions pending: switchboard pending ${result.runId} ${file} --journal ${mask(durable)})` : ""
  return `continue: switchboard decide ${file} ${result.runId} ${address} --decision '<json>' --journal ${mask(durable)}${all}`
}

/**
 * The run options that show a command's progress: the `--log` file, the inspector, one line per event.
 *
 * @example
 * await pipeline.run(input, { journal, ...progress(options, output) })
 */
export const progress = (
  options: CommandOptions,
  output: Output,
): { onEvent?: (event: RunEvent) => void; inspect?: (event: InspectionEvent) => void; observers?: ReadonlyArray<(event: RunEvent) => void> } => ({
  ...(options.inspect === undefined ? {} : { inspect: options.inspect }),
  ...(options.log === undefined ? {} : { observers: [stepLog(options.log)] }),
  ...(options.json === true
    ? {}
    : {
        onEvent: (event: RunEvent) => {
          if (output.event !== undefined) return output.event(event)
          const line = formatEvent(event)
          if (line !== undefined) output.out(line)
        },
      }),
})

// The step log writes each line as it comes; closing at exit releases the file.
const stepLog = (path: string) => {
  const log = jsonlLog({ path })
  process.once("exit", () => log.close())
  return log
}

/**
 * Runs `run` with a cancel signal and a drain signal the process's signals drive: Ctrl-C or
 * SIGTERM drains the run (left resumable in its journal) instead of killing the process mid-write.
 *
 * @example
 * const result = await interruptible((signal, drain) => pipeline.run(input, { journal, signal, drain }))
 */
export const interruptible = async <T>(run: (signal: AbortSignal, drain: AbortSignal) => Promise<T>): Promise<T> => {
  // The first SIGINT or SIGTERM drains the run (no new step starts; the step in flight may finish
  // for `drainTimeoutMs`, and the run stays resumable from its journal); a second one stops it now.
  const controller = new AbortController()
  const drain = new AbortController()
  let late: ReturnType<typeof setTimeout> | undefined
  const onSignal = (name: NodeJS.Signals) => {
    if (!drain.signal.aborted) {
      drain.abort(`interrupted (${name})`)
      late = setTimeout(() => controller.abort(`drain timed out (${name})`), drainTimeoutMs)
    } else controller.abort(`interrupted again (${name})`)
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  try {
    return await run(controller.signal, drain.signal)
  } finally {
    clearTimeout(late)
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  }
}

/** How long a signalled `run`, `decide`, `resume`, `retry` or `fork` lets its step in flight finish. */
export const drainTimeoutMs = 30_000

/**
 * Prints a command's result (as JSON with `--json`) and returns its exit code.
 *
 * @example
 * return report(result, options, output, decideHint(file, result, durable))
 */
export const report = (result: RunResult<Record<string, unknown>>, options: CommandOptions, output: Output, hint: string | undefined): number => {
  const shown = result.status === "failed" ? { ...result, error: { ...result.error, message: redact(result.error.message) } } : result
  output.out(options.json === true ? JSON.stringify(shown, null, 2) : formatResult(result, hint))
  return exitCodes[result.status]
}
