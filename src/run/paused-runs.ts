// A `run()` given no journal, of a pipeline that can pause for a person, journals to memory of its
// own; when it pauses, that journal is kept here, for this process's life, so `decide` without a
// journal continues it. Runs that end are not kept, so nothing grows with the runs that finish.
import type { Journal, JournalEntry } from "../contract/journal.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import type { RunOptions } from "./create-runner.ts"
import { pausePointOf } from "./pause-check.ts"
import type { RunResult } from "./result.ts"
import { ResumeError, type ResumeOptions } from "./resume.ts"

/**
 * Options of `decide`: as `resume`'s, but the journal may be left out for a run that `run()`
 * paused in this process without one.
 *
 * @example
 * const options: DecideOptions = { models }
 */
export type DecideOptions = Omit<ResumeOptions, "journal"> & { readonly journal?: Journal }

const pausedHere = new Map<string, Journal>()
const ownJournals = new WeakSet<Journal>()

// Kept as JSON text, as a durable journal keeps it: what a decide reads back is what it would read there.
const runJournal = (): Journal => {
  const entries: string[] = []
  let snapshot: string | undefined
  const journal: Journal = {
    label: "memory (this process)",
    append(entry) {
      if (entry.seq !== entries.length) throw new Error(`journal for run ${entry.runId}: expected seq ${entries.length}, got ${entry.seq}`)
      entries.push(JSON.stringify(entry))
    },
    read: async () => entries.map((text) => JSON.parse(text) as JournalEntry),
    saveSnapshot(_runId, value) {
      snapshot = JSON.stringify(value)
    },
    loadSnapshot: async () => (snapshot === undefined ? undefined : JSON.parse(snapshot)),
  }
  ownJournals.add(journal)
  return journal
}

/**
 * A `run()`'s options with a journal of its own in memory when none was given and the pipeline
 * can pause for a person (a human step, a tool call to approve): its pause can then be decided.
 *
 * @example
 * const kept = withPauseJournal(graph, runOptions)
 */
export const withPauseJournal = (graph: PipelineGraph, options: RunOptions): RunOptions =>
  options.journal !== undefined || pausePointOf(graph) === undefined ? options : { ...options, journal: runJournal() }

/**
 * Keeps a run's own journal while the run waits on a person; forgets it once the run has ended.
 *
 * @example
 * notePaused(result, kept)
 */
export const notePaused = (result: Pick<RunResult<never>, "status" | "runId">, options: RunOptions): void => {
  // Plain JavaScript may pass anything as options (run() fails such a run, never throws).
  const journal = (options as RunOptions | null | undefined)?.journal
  if (journal === undefined || !ownJournals.has(journal)) return
  if (result.status === "awaiting-human") pausedHere.set(result.runId, journal)
  else pausedHere.delete(result.runId)
}

/**
 * `decide`'s options with the journal filled in: the one given, else the one of the run paused here.
 * Throws a `ResumeError` (`unknown-run`) when neither exists.
 *
 * @example
 * const resumeOptions = decideOptions(runId, options)
 */
export const decideOptions = (runId: string, options: DecideOptions | undefined): ResumeOptions => {
  const journal = options?.journal ?? pausedHere.get(runId)
  if (journal === undefined) {
    throw new ResumeError("unknown-run", runId, "no journal was given, and no run paused in this process has this id (pass the journal it was run with)")
  }
  return { ...options, journal }
}
