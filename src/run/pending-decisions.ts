// What a paused run waits for, read from its journal: every wait (`human.waiting`) that no
// decision or expiry has ended, each by its address. A wait at the top level ends too when the run
// moves to another step; a wait inside fan-out (`brief.legal`, `refunds[2]`) stays open while its
// siblings start and finish, until its own decision, its expiry, or the end of its enclosing step.
import type { JournalEntry } from "../contract/journal.ts"
import { visitKey } from "../contract/keys.ts"
import { topStepOf } from "./result.ts"

/** One wait a run's journal holds open. */
export interface JournaledWait {
  /** The address: the journaled name of the waiting step. */
  readonly path: string
  /** The pipeline's own step it is inside. */
  readonly step: string
  readonly visit: number
  readonly deadline: number | undefined
  readonly prompt: string | undefined
}

/**
 * Every wait a run's journal holds open, in the order they began.
 *
 * @example
 * pendingOf(await journal.read(runId)).map((wait) => wait.path) // ["refunds[0]", "refunds[2]"]
 */
export const pendingOf = (entries: readonly JournalEntry[]): readonly JournaledWait[] => {
  const open = new Map<string, JournaledWait>()
  for (const entry of entries) {
    if (entry.type === "human.waiting") {
      // Said again (a run paused anew announces its wait due first): it keeps its place.
      const key = visitKey(entry.step, entry.visit)
      open.set(key, { path: entry.step, step: topStepOf(entry.step), visit: entry.visit, deadline: entry.deadline, prompt: entry.prompt })
    } else if (entry.type === "human.decided" || entry.type === "human.expired") open.delete(visitKey(entry.step, entry.visit))
    else if (entry.type === "step.started" || entry.type === "step.finished" || entry.type === "step.failed") {
      const top = topStepOf(entry.step)
      const enclosing = entry.type !== "step.started" && entry.step === top
      for (const [key, wait] of open) {
        // Another of the pipeline's steps started (the run moved on), or the step around the wait ended.
        if (wait.step !== top || (enclosing && wait.path !== top)) open.delete(key)
      }
    }
  }
  return [...open.values()]
}

/**
 * The wait of a run's journal due first (the earliest deadline; else the latest to begin), as
 * `{ step, visit, deadline }` with `step` the pipeline's own step it is inside.
 *
 * @example
 * waitDueFirst(entries)?.deadline
 */
export const waitDueFirst = (entries: readonly JournalEntry[]): JournaledWait | undefined => {
  const waits = pendingOf(entries)
  const timed = waits.filter((wait) => wait.deadline !== undefined)
  if (timed.length === 0) return waits.at(-1)
  return timed.reduce((first, wait) => ((wait.deadline as number) < (first.deadline as number) ? wait : first))
}
