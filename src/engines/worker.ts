import type { RunStatus } from "../contract/events.ts"
import type { Journal } from "../contract/journal.ts"
import type { Models } from "../contract/model.ts"
import type { ThreadStore } from "../contract/thread.ts"
import type { Pipeline } from "../run/create-runner.ts"
import { executingHere } from "../run/execution.ts"
import type { RunResult } from "../run/result.ts"
import { ResumeError } from "../run/resume.ts"

/** A run as a durable journal lists it. */
interface ListedRun {
  readonly runId: string
  readonly pipeline: string
  readonly status: RunStatus
  /** Who holds the run's claim right now, when the journal knows (Postgres). */
  readonly owner?: string | null
}

/**
 * A journal a worker can take runs from: it lists its runs, and may push run ids as they become
 * runnable (Postgres LISTEN/NOTIFY) so the worker need not wait for its next poll.
 *
 * @example
 * const journal: WorkerJournal = sqliteJournal({ path: ".switchboard/runs.db" })
 */
export interface WorkerJournal extends Journal {
  runs(): readonly ListedRun[] | Promise<readonly ListedRun[]>
  listen?(onRunnable: (runId: string) => void): Promise<() => Promise<void>>
}

/**
 * Options of {@link worker}.
 *
 * @example
 * const options: WorkerOptions = { journal, pipelines: [triage], models, concurrency: 20 }
 */
export interface WorkerOptions {
  readonly journal: WorkerJournal
  // biome-ignore lint/suspicious/noExplicitAny: a worker runs pipelines of any input and steps
  readonly pipelines: ReadonlyArray<Pipeline<any, any>>
  readonly models?: Models
  /** Where the threads of runs started with a `threadId` live: a worker that continues such a run saves its thread there. */
  readonly threads?: ThreadStore
  /** Runs executed at once by this worker (default 10). */
  readonly concurrency?: number
  /** How often to look for runnable runs when nothing wakes the worker (default 1000 ms). */
  readonly pollMs?: number
  /** Told of each run this worker finished or paused. */
  readonly onResult?: (result: RunResult<Record<string, unknown>>) => void
  /** Told of a run this worker could not take or execute (other runs continue). */
  readonly onError?: (runId: string, error: unknown) => void
}

/**
 * A running worker: stop it to let in-flight runs finish and take no new ones.
 *
 * @example
 * const running = worker({ journal, pipelines: [triage] })
 * process.on("SIGTERM", () => void running.stop())
 */
export interface Worker {
  /** Runs this worker is executing now. */
  readonly active: ReadonlySet<string>
  /** Looks for runnable runs now instead of at the next poll. */
  wake(): void
  /** Stops taking runs and resolves when the in-flight ones have settled. */
  stop(): Promise<void>
}

/**
 * Executes the runnable runs of a journal: new runs (`submit`), decided runs, and runs orphaned by
 * a process that died. With a journal that can `claim` (Postgres), any number of workers in any
 * number of processes share the journal and a run is executed by one at a time; a worker takes
 * over a dead one's runs as soon as Postgres releases its claim. Steps run at least once, the
 * journal is written exactly once, and tools get idempotency keys (`runId:step:visit`).
 *
 * @example
 * const running = worker({ journal: postgresJournal(), pipelines: [triage], models: { fast } })
 */
export const worker = (options: WorkerOptions): Worker => {
  const pipelines = new Map(options.pipelines.map((pipeline) => [pipeline.id, pipeline]))
  const concurrency = options.concurrency ?? 10
  const active = new Set<string>()
  const settling = new Set<Promise<void>>()
  let stopped = false
  let scanning: Promise<void> | undefined
  let again = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let unlisten: (() => Promise<void>) | undefined

  const execute = (run: ListedRun) => {
    const pipeline = pipelines.get(run.pipeline)
    active.add(run.runId)
    const done: Promise<void> = (async () => {
      if (pipeline === undefined) throw new ResumeError("other-pipeline", run.runId, `this worker has no pipeline "${run.pipeline}"`)
      const result = await pipeline.resume(run.runId, {
        journal: options.journal,
        ...(options.models === undefined ? {} : { models: options.models }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
      })
      options.onResult?.(result)
    })()
      .catch((error: unknown) => {
        // Another worker holding (or having just finished) the run is the normal case, not an error.
        if (!(error instanceof ResumeError && (error.reason === "claimed" || error.reason === "finished"))) options.onError?.(run.runId, error)
      })
      .finally(() => {
        active.delete(run.runId)
        settling.delete(done)
        if (!stopped) wake()
      })
    settling.add(done)
  }

  const scan = async () => {
    const runs = await options.journal.runs()
    for (const run of runs) {
      if (stopped || active.size >= concurrency) return
      if (run.status !== "running" || active.has(run.runId) || executingHere.has(run.runId) || !pipelines.has(run.pipeline)) continue
      // Claimed by a live process: trying would only cost a connection and fail.
      if (run.owner !== undefined && run.owner !== null) continue
      execute(run)
    }
  }

  const wake = () => {
    if (stopped) return
    if (scanning !== undefined) {
      again = true
      return
    }
    clearTimeout(timer)
    scanning = scan()
      .catch((error: unknown) => options.onError?.("", error))
      .finally(() => {
        scanning = undefined
        if (again) {
          again = false
          wake()
        } else if (!stopped) {
          timer = setTimeout(wake, options.pollMs ?? 1_000)
        }
      })
  }

  void options.journal
    .listen?.(() => wake())
    .then(
      (stop) => {
        if (stopped) void stop()
        else unlisten = stop
      },
      (error: unknown) => options.onError?.("", error),
    )
  wake()

  return {
    active,
    wake,
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await scanning
      await unlisten?.()
      await Promise.all(settling)
    },
  }
}
