import type { PipelineMachine } from "../compile/compile-machine.ts"
import { toMillis } from "../contract/duration.ts"
import type { RunEvent } from "../contract/events.ts"
import type { JournalEntry } from "../contract/journal.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { bounded, defaultJournalTimeoutMs } from "./journal-failure.ts"
import type { RunResult } from "./result.ts"
import { ResumeError, type ResumeOptions, resumeRun, waitingOf } from "./resume.ts"
import { failedVisits, hasFinished, retriesOf } from "./retry-journal.ts"

/**
 * A run cannot be retried: it is done, was stopped by a stop rule, waits on a person, has not
 * finished (resume it instead), is unknown, of another pipeline, built from a graph that has since
 * changed (`changes` names what), has a corrupt journal, or another process is executing it.
 * Nothing was written.
 *
 * @example
 * try { await p.retry(runId, { journal }) } catch (error) { if (error instanceof RetryError) console.error(error.runId, error.reason) }
 */
export class RetryError extends Error {
  override readonly name = "RetryError"
  readonly reason: Exclude<ResumeError["reason"], "finished"> | "done" | "stopped" | "waiting" | "running"
  readonly runId: string
  readonly changes: readonly string[]
  constructor(reason: RetryError["reason"], runId: string, message: string, changes: readonly string[] = []) {
    super(`cannot retry run ${runId}: ${message}${changes.length === 0 ? "" : `\n  - ${changes.join("\n  - ")}`}`)
    this.reason = reason
    this.runId = runId
    this.changes = changes
  }
}

interface Target {
  readonly id: string
  readonly graph: PipelineGraph
  readonly machine: PipelineMachine
}

// Only a run that ended failed (a cancelled run ends failed too) is retried.
const admitFailed = (runId: string, entries: readonly JournalEntry[]): void => {
  if (!hasFinished(entries)) {
    const waiting = waitingOf(entries)
    if (waiting !== undefined) throw new RetryError("waiting", runId, `it waits on a decision for "${waiting.step}" (decide it instead)`)
    throw new RetryError("running", runId, "it has not finished: it is running, or its process died (resume it instead)")
  }
  const finished = entries.findLast((entry) => entry.type === "run.finished")
  if (finished?.type !== "run.finished" || finished.status === "failed") return
  if (finished.status === "done") throw new RetryError("done", runId, "it finished done: there is nothing to retry")
  const rule = finished.stoppedBy === undefined ? "" : ` (${finished.stoppedBy.rule} at "${finished.stoppedBy.step}")`
  throw new RetryError("stopped", runId, `a stop rule ended it${rule}: it did not fail, so there is nothing to retry`)
}

/**
 * Continues a failed or cancelled run from the step that failed. Steps that finished, and inside
 * the failed step the `parallel` branches and `map` items that finished, come from the journal;
 * only the failed visit runs again (its failed branch, its failed items), as a new attempt that
 * starts counting from 1 and keeps the visit's idempotency key. The journal gets a `run.retried`
 * naming the visits that run again, after the earlier attempts, so a timeline shows both. A
 * failure an `error` route took the run on from is that step's answer and stays one.
 *
 * Why `retry` and not `resume` accepting failed runs: `resume` may be called on any run at any
 * time (a worker, a supervisor, a deploy script after a crash) because it never redoes what the
 * journal answered, and a recorded failure is such an answer. Retrying spends money again, and may
 * repeat a side effect whose failure came after it took place, so it is asked for by name: a loop
 * that resumes runs never becomes a loop that retries a run which fails every time.
 *
 * Throws a {@link RetryError} (nothing written) for a run that is done, stopped, waiting, not
 * finished, unknown, changed (unless `allowStructureChange`), corrupt or claimed elsewhere.
 *
 * @example
 * const result = await retryRun(target, runId, { journal, models })
 */
export const retryRun = async (target: Target, runId: string, options: ResumeOptions): Promise<RunResult<never>> => {
  const timeoutMs = options.journalTimeout === undefined ? defaultJournalTimeoutMs : toMillis(options.journalTimeout, "journalTimeout")
  try {
    return await resumeRun(
      target,
      runId,
      options,
      async (entries) => {
        const event: RunEvent = {
          type: "run.retried",
          runId,
          steps: failedVisits(entries, new Set(target.graph.steps.keys())),
          retry: retriesOf(entries) + 1,
          at: Date.now(),
        }
        const entry = { ...event, seq: entries.length } as JournalEntry
        await bounded(Promise.resolve(options.journal.append(entry)), timeoutMs, `the write of run.retried #${entries.length}`)
        return [entry]
      },
      admitFailed,
    )
  } catch (error) {
    if (error instanceof ResumeError) {
      const prefix = `cannot resume run ${runId}: `
      const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length).split("\n  - ")[0] : error.message
      throw Object.assign(new RetryError(error.reason === "finished" ? "done" : error.reason, runId, message ?? "", error.changes), { cause: error })
    }
    throw error
  }
}
