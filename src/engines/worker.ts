import { type DurationInput, toMillis } from "../contract/duration.ts"
import type { RunStatus } from "../contract/events.ts"
import type { Journal } from "../contract/journal.ts"
import type { Models } from "../contract/model.ts"
import type { ThreadStore } from "../contract/thread.ts"
import type { Pipeline } from "../run/create-runner.ts"
import { deadlineFollowedHere, forgetDeadline } from "../run/deadline-timer.ts"
import { executingHere } from "../run/execution.ts"
import { checkModelLimits, type ModelLimits } from "../run/model-limits.ts"
import type { RunResult } from "../run/result.ts"
import { ResumeError } from "../run/resume.ts"

/** A run as a durable journal lists it. */
interface ListedRun {
  readonly runId: string
  readonly pipeline: string
  readonly status: RunStatus
  /** Who holds the run's claim right now, when the journal knows (SQLite, Postgres). */
  readonly owner?: string | null
  /** A run waiting on a person: when its timeout route applies (epoch ms), if it has a deadline. */
  readonly deadline?: number
  /** Epoch ms of the run's latest lifecycle event, when the journal lists it. */
  readonly updatedAt?: number
}

// Refusals that the next poll would only repeat: the run's journal or graph must change first.
const lasting = new Set<ResumeError["reason"]>(["corrupt-journal", "structure-changed", "other-pipeline", "unknown-run"])

/**
 * A journal a worker can take runs from: it lists its runs (with the deadline of each run waiting
 * on a person), and may push run ids as they become runnable or start waiting with a deadline
 * (Postgres LISTEN/NOTIFY) so the worker need not wait for its next poll.
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
  /**
   * How often to look for runnable runs when nothing wakes the worker (default 1000 ms). A run
   * waiting on a deadline the worker has seen is taken at that deadline, not at the next poll.
   */
  readonly pollMs?: number
  /** Told of each run this worker finished or paused. */
  readonly onResult?: (result: RunResult<Record<string, unknown>>) => void
  /** Told of a run this worker could not take or execute (other runs continue). */
  readonly onError?: (runId: string, error: unknown) => void
  /**
   * Shared limits by `provider:model` for every run this worker executes (over `setModelLimits`).
   * They hold within this process: each worker process keeps its own queues.
   */
  readonly limits?: ModelLimits
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
  /**
   * Stops taking runs and drains the ones in flight (a deploy): no new step starts; a step in
   * flight may finish until `timeout` (default 30 s), then its signal aborts. Every run is left
   * `running` in the journal, not failed, for the next worker to resume. Resolves when all stopped.
   */
  drain(options?: { readonly timeout?: DurationInput }): Promise<void>
}

/**
 * Executes the runnable runs of a journal: new runs (`submit`), decided runs, runs orphaned by a
 * process that died, and runs waiting on a person whose deadline has passed (resumed at the
 * deadline, so they take their timeout route: a timer is armed for the earliest deadline the
 * worker has seen, and the journal is polled every `pollMs` for new ones, or woken by Postgres
 * NOTIFY). With a journal that can `claim`, any number of workers in any number of processes
 * share the journal and a run is executed by one at a time: on Postgres, a worker takes over a
 * dead one's runs as soon as Postgres releases its claim; on SQLite (processes of one machine),
 * at its next poll after the process holding them is gone. Steps run at least once, the
 * journal is written exactly once, and tools get idempotency keys (`runId:step:visit`).
 *
 * @example
 * const running = worker({ journal: postgresJournal(), pipelines: [triage], models: { fast } })
 */
export const worker = (options: WorkerOptions): Worker => {
  const pipelines = new Map(options.pipelines.map((pipeline) => [pipeline.id, pipeline]))
  // A limit that cannot be met is refused here, naming it, rather than failing every run later.
  if (options.limits !== undefined) checkModelLimits(options.limits)
  const concurrency = options.concurrency ?? 10
  const active = new Set<string>()
  // Runs whose resume was refused for a reason that lasts, with the journal time it was refused at.
  const refused = new Map<string, number | undefined>()
  const settling = new Set<Promise<void>>()
  let stopped = false
  let scanning: Promise<void> | undefined
  let again = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let unlisten: (() => Promise<void>) | undefined

  // Each run in flight: how to drain it, and how to stop its step in flight once the drain times out.
  const controls = new Map<string, { readonly drain: AbortController; readonly cancel: AbortController }>()
  const execute = (run: ListedRun) => {
    const pipeline = pipelines.get(run.pipeline)
    active.add(run.runId)
    const control = { drain: new AbortController(), cancel: new AbortController() }
    controls.set(run.runId, control)
    let failed = false
    const done: Promise<void> = (async () => {
      if (pipeline === undefined) throw new ResumeError("other-pipeline", run.runId, `this worker has no pipeline "${run.pipeline}"`)
      const result = await pipeline.resume(run.runId, {
        journal: options.journal,
        drain: control.drain.signal,
        signal: control.cancel.signal,
        ...(options.models === undefined ? {} : { models: options.models }),
        ...(options.threads === undefined ? {} : { threads: options.threads }),
        ...(options.limits === undefined ? {} : { limits: options.limits }),
      })
      // A run that paused again is this worker's to follow through the journal, not a timer of its own.
      forgetDeadline(run.runId)
      // A drained run did not end: it is the next worker's, not a result.
      if (!(control.drain.signal.aborted && result.status === "failed" && result.error._tag === "CancelledError")) options.onResult?.(result)
    })()
      .catch((error: unknown) => {
        // Another worker holding (or having just finished) the run is the normal case, not an error.
        if (error instanceof ResumeError && (error.reason === "claimed" || error.reason === "finished")) return
        // Told once: the run is left alone until its journal changes (a repair, a new event).
        if (error instanceof ResumeError && lasting.has(error.reason)) refused.set(run.runId, run.updatedAt)
        failed = true
        options.onError?.(run.runId, error)
      })
      .finally(() => {
        active.delete(run.runId)
        controls.delete(run.runId)
        settling.delete(done)
        // A freed slot takes the next run now; after a failure, the next poll does (no busy loop
        // on a run that fails at once).
        if (!stopped && !failed) wake()
      })
    settling.add(done)
  }

  // Resolves with the earliest deadline still to come among the waiting runs this worker could take.
  const scan = async (): Promise<number> => {
    const runs = await options.journal.runs()
    const now = Date.now()
    const ours = (run: ListedRun) => pipelines.has(run.pipeline) && !executingHere.has(run.runId) && !deadlineFollowedHere(run.runId)
    let next = Number.POSITIVE_INFINITY
    for (const run of runs)
      if (run.status === "awaiting-human" && run.deadline !== undefined && run.deadline > now && ours(run)) next = Math.min(next, run.deadline)
    for (const run of runs) {
      if (stopped || active.size >= concurrency) break
      const due = run.status === "awaiting-human" && run.deadline !== undefined && run.deadline <= now
      // A run this process paused follows its deadline by its own timer (run/deadline-timer.ts).
      if ((run.status !== "running" && !due) || active.has(run.runId) || !ours(run)) continue
      if (refused.has(run.runId) && refused.get(run.runId) === run.updatedAt) continue
      // Claimed by a live process: trying would only cost a connection and fail.
      if (run.owner !== undefined && run.owner !== null) continue
      execute(run)
    }
    return next
  }

  const wake = () => {
    if (stopped) return
    if (scanning !== undefined) {
      again = true
      return
    }
    clearTimeout(timer)
    let next = Number.POSITIVE_INFINITY
    scanning = scan()
      .then((deadline) => void (next = deadline))
      .catch((error: unknown) => options.onError?.("", error))
      .finally(() => {
        scanning = undefined
        if (again) {
          again = false
          wake()
        } else if (!stopped) {
          // Poll as usual, or sooner when a deadline falls due first (never a busy loop: a due run is taken now).
          timer = setTimeout(wake, Math.min(options.pollMs ?? 1_000, Math.max(0, next - Date.now())))
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
    drain: async (drainOptions = {}) => {
      stopped = true
      clearTimeout(timer)
      await scanning
      await unlisten?.()
      for (const control of controls.values()) control.drain.abort("drained")
      const timeoutMs = toMillis(drainOptions.timeout ?? "30s", "timeout")
      const late = setTimeout(() => {
        for (const control of controls.values()) control.cancel.abort("drain timed out")
      }, timeoutMs)
      try {
        await Promise.all(settling)
      } finally {
        clearTimeout(late)
      }
    },
    stop: async () => {
      stopped = true
      clearTimeout(timer)
      await scanning
      await unlisten?.()
      await Promise.all(settling)
    },
  }
}
