// The process that paused a run on a deadline applies the deadline itself while it lives: a timer
// (unref'd, so it never keeps the process alive) resumes the run when the deadline passes, and the
// resumed run takes the timeout route. Whoever holds the run's claim then wins: a worker elsewhere
// that got there first makes this resume refuse with ResumeError("claimed"), which is fine.
import type { Journal } from "../contract/journal.ts"
import type { RunResult } from "./result.ts"
import { waitingOf } from "./resume.ts"

// Node's timers take at most 2^31 - 1 ms (about 24.8 days): a later deadline is reached in hops.
const longestDelay = 2_147_483_647

/** Runs paused by this process whose deadline a timer here will apply (or is applying), by run id. */
const followed = new Map<string, { timer: ReturnType<typeof setTimeout> | undefined }>()

/**
 * Arms the timer of a run that `result` paused with a deadline: at the deadline, if the journal
 * shows the run still waiting on that same pause, `resume` continues it (taking the timeout route).
 * A result that is not such a pause is returned as is; so is every result (this never throws).
 *
 * @example
 * return followDeadline(await execution.settled, journal, () => pipeline.resume(runId, { journal }))
 */
export const followDeadline = <TResult extends RunResult<never>>(result: TResult, journal: Journal, resume: () => Promise<unknown>): TResult => {
  if (result.status !== "awaiting-human" || result.deadline === null) return result
  const { runId, step, deadline } = result
  forgetDeadline(runId)
  const entry: { timer: ReturnType<typeof setTimeout> | undefined } = { timer: undefined }
  followed.set(runId, entry)
  const fire = async () => {
    // Decided, resumed or expired elsewhere meanwhile: that pause is not ours to end any more.
    const waiting = waitingOf(await journal.read(runId))
    if (waiting?.step !== step || waiting.deadline !== deadline) return
    await resume()
  }
  const arm = () => {
    const remaining = deadline - Date.now()
    entry.timer = setTimeout(
      () => {
        if (followed.get(runId) !== entry) return
        if (deadline - Date.now() > 0) return arm()
        entry.timer = undefined
        // A resume that pauses again re-arms through its own result; anything it throws (claimed
        // elsewhere, finished, a closed journal) means someone else has the run, or nobody can.
        void fire()
          .catch(() => {})
          .finally(() => {
            if (followed.get(runId) === entry) followed.delete(runId)
          })
      },
      Math.min(longestDelay, Math.max(0, remaining)),
    )
    entry.timer.unref?.()
  }
  arm()
  return result
}

/**
 * Whether this process follows a run's deadline (its timer is armed, or its resume is under way):
 * a worker here leaves such a run to it.
 *
 * @example
 * if (!deadlineFollowedHere(run.runId)) execute(run)
 */
export const deadlineFollowedHere = (runId: string): boolean => followed.has(runId)

/**
 * Stops following a run's deadline here (a worker that paused the run schedules it itself).
 *
 * @example
 * forgetDeadline(result.runId)
 */
export const forgetDeadline = (runId: string): void => {
  const entry = followed.get(runId)
  if (entry === undefined) return
  clearTimeout(entry.timer)
  followed.delete(runId)
}
