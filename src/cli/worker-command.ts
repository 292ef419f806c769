import { worker } from "../engines/worker.ts"
import { exitCodes, type Output, requireDurable, withJournal } from "./commands.ts"
import { mask } from "./journal-option.ts"
import { loadPipelines, UsageError } from "./load-pipeline.ts"
import { formatOutcome, redact } from "./progress.ts"

/**
 * Options of `switchboard worker`, as commander gives them (numbers still strings).
 *
 * @example
 * const options: WorkerCommandOptions = { journal: "postgres:#billing", concurrency: "20" }
 */
export interface WorkerCommandOptions {
  readonly journal?: string
  readonly concurrency?: string
  readonly poll?: string
  readonly json?: boolean
  /** How long a signalled worker lets the steps in flight finish, in ms (default 30000). */
  readonly drainTimeout?: string
}

/**
 * `switchboard worker <file>`: executes the runnable runs of a journal (submitted, decided, or
 * left behind by a process that died) for every pipeline the file exports, printing one line per
 * run it finishes or pauses, until SIGINT or SIGTERM. The first signal drains: no new run and no
 * new step starts, the steps in flight may finish for `--drain-timeout`, and every run is left
 * running in the journal for the next worker; a second one exits at once.
 *
 * @example
 * process.exitCode = await workerCommand("pipelines/orders.ts", { journal: "postgres:#billing", concurrency: "20" }, output)
 */
export const workerCommand = async (file: string, options: WorkerCommandOptions, output: Output): Promise<number> => {
  requireDurable("worker", options.journal)
  const concurrency = positiveInteger(options.concurrency, "--concurrency", 10)
  const pollMs = positiveInteger(options.poll, "--poll", 1000)
  const drainTimeoutMs = positiveInteger(options.drainTimeout, "--drain-timeout", 30_000)
  const loaded = await loadPipelines(file)
  return withJournal(options.journal, async ({ journal, durable }) => {
    const stopRequested = signalled()
    const running = worker({
      journal,
      pipelines: loaded.pipelines,
      models: loaded.models,
      concurrency,
      pollMs,
      onResult: (result) => {
        const shown = result.status === "failed" ? { ...result, error: { ...result.error, message: redact(result.error.message) } } : result
        output.out(options.json === true ? JSON.stringify(shown) : formatOutcome(result))
      },
      onError: (runId, error) =>
        output.error(`switchboard worker: ${runId === "" ? "" : `run ${runId}: `}${redact(error instanceof Error ? error.message : String(error))}`),
    })
    const ids = loaded.pipelines.map((pipeline) => pipeline.id).join(", ")
    output.error(`switchboard worker: executing runs of ${ids} from ${mask(durable ?? "")} (concurrency ${concurrency}); stop with Ctrl-C`)
    const signal = await stopRequested.first
    output.error(
      `switchboard worker: ${signal}: stopping, waiting for ${running.active.size} run(s) in flight to reach a step boundary (at most ${drainTimeoutMs} ms; again to exit now); they stay running in the journal for the next worker`,
    )
    stopRequested.onAgain(() => {
      output.error("switchboard worker: exiting now; runs in flight continue from their journal in the next worker")
      process.exit(exitCodes.failed)
    })
    await running.drain({ timeout: drainTimeoutMs })
    stopRequested.dispose()
    return exitCodes.done
  })
}

// SIGINT (Ctrl-C) and SIGTERM (process managers) both ask for a graceful stop.
const signalled = () => {
  const names = ["SIGINT", "SIGTERM"] as const
  let again: () => void = () => {}
  let resolveFirst: (name: string) => void = () => {}
  const first = new Promise<string>((resolve) => (resolveFirst = resolve))
  let received = false
  const handler = (name: NodeJS.Signals) => {
    if (received) again()
    else {
      received = true
      resolveFirst(name)
    }
  }
  for (const name of names) process.on(name, handler)
  return {
    first,
    onAgain: (act: () => void) => (again = act),
    dispose: () => {
      for (const name of names) process.off(name, handler)
    },
  }
}

const positiveInteger = (value: string | undefined, flag: string, fallback: number): number => {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed < 1) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`)
  return parsed
}
