import type { PipelineMachine } from "../compile/compile-machine.ts"
import { toMillis } from "../contract/duration.ts"
import type { RunEvent } from "../contract/events.ts"
import type { Journal, JournalEntry, RunClaim } from "../contract/journal.ts"
import { CorruptJournalError, checkJournal } from "../contract/journal-check.ts"
import { usageOfJournal } from "../contract/usage.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { structureChanges, structureOf } from "../definition/structure.ts"
import type { RunOptions } from "./create-runner.ts"
import { lateDecision } from "./decisions.ts"
import { execute } from "./execution.ts"
import { bounded, boundedClaim, defaultJournalTimeoutMs } from "./journal-failure.ts"
import { pendingOf, waitDueFirst } from "./pending-decisions.ts"
import { buildReplay } from "./replay.ts"
import { DecisionError, type RunResult } from "./result.ts"
import { hasFinished, replayedEntries } from "./retry-journal.ts"

/**
 * A run cannot be resumed: unknown, already finished, of another pipeline, built from a graph
 * that has since changed (`changes` names what), a journal that makes no sense, or a run that
 * another process is executing right now. Nothing was written.
 *
 * @example
 * try { await p.resume(runId, { journal }) } catch (error) { if (error instanceof ResumeError) console.error(error.reason, error.changes) }
 */
export class ResumeError extends Error {
  override readonly name = "ResumeError"
  readonly reason: "unknown-run" | "finished" | "other-pipeline" | "structure-changed" | "corrupt-journal" | "claimed"
  readonly runId: string
  readonly changes: readonly string[]
  constructor(reason: ResumeError["reason"], runId: string, message: string, changes: readonly string[] = []) {
    super(`cannot resume run ${runId}: ${message}${changes.length === 0 ? "" : `\n  - ${changes.join("\n  - ")}`}`)
    this.reason = reason
    this.runId = runId
    this.changes = changes
  }
}

/** Options of `resume` and `decide`: a run needs the journal it was written to. */
export type ResumeOptions = RunOptions & {
  readonly journal: Journal
  /** Resume even though the pipeline's graph changed since the run started. */
  readonly allowStructureChange?: boolean
}

interface Target {
  readonly id: string
  readonly graph: PipelineGraph
  readonly machine: PipelineMachine
}

/**
 * Continues a run from its journal: finished steps, decisions and expired deadlines are replayed
 * from the journal (never done again); the step that was in flight runs again with the same
 * idempotency key. `before` may append events (a decision) once the run is checked and claimed.
 */
export const resumeRun = async (
  target: Target,
  runId: string,
  options: ResumeOptions,
  before?: (entries: readonly JournalEntry[]) => Promise<readonly JournalEntry[]>,
  // Which runs may continue: by default any that has not finished (`retry` admits failed ones).
  admit: (runId: string, entries: readonly JournalEntry[]) => void = refuseFinished,
): Promise<RunResult<never>> => {
  const { journal } = options
  // A stalled store rejects with a JournalTimeoutError instead of hanging the caller.
  const timeoutMs = options.journalTimeout === undefined ? defaultJournalTimeoutMs : toMillis(options.journalTimeout, "journalTimeout")
  const read = () => checkedRead(runId, bounded(journal.read(runId), timeoutMs, `the read of run ${runId}`))
  const checked = check(target, runId, await read(), options, admit)
  let claim: RunClaim | undefined
  if (journal.claim !== undefined) {
    claim = await boundedClaim(journal, runId, timeoutMs)
    if (claim === undefined) throw new ResumeError("claimed", runId, "another process is executing it")
  }
  try {
    // Read again under the claim: another process may have moved the run on meanwhile.
    let entries = claim === undefined ? checked : check(target, runId, await read(), options, admit)
    const added = before === undefined ? [] : await before(entries)
    entries = [...entries, ...added]
    const started = entries[0] as Extract<JournalEntry, { type: "run.started" }>
    const execution = execute(target.graph, target.machine, {
      runId,
      runOptions: options,
      from: { input: started.input },
      seq: entries.length,
      keepWaiting: false,
      buffer: false,
      usage: usageOfJournal(entries),
      replay: buildReplay(replayedEntries(entries)),
      ...(claim === undefined ? {} : { claim }),
      announce: added.map(({ seq: _seq, ...event }) => event as RunEvent),
    })
    await execution.start()
    return await execution.settled
  } finally {
    await claim?.release()
  }
}

// A run's journal as its store gave it, every entry checked: a torn row, an entry of no known
// type or without a field its type requires is a corrupt journal, not a run to act on.
const checkedRead = async (runId: string, read: Promise<readonly JournalEntry[]>): Promise<readonly JournalEntry[]> => {
  try {
    return checkJournal(runId, await read)
  } catch (error) {
    if (!(error instanceof CorruptJournalError)) throw error
    const where = error.seq === undefined ? "" : ` at seq ${error.seq}`
    throw Object.assign(new ResumeError("corrupt-journal", runId, `its journal is corrupt${where}: ${error.problem}`), { cause: error })
  }
}

const refuseFinished = (runId: string, entries: readonly JournalEntry[]): void => {
  if (!hasFinished(entries)) return
  // A failed run continues from its failure with `retry`, which redoes a recorded failure: say so.
  const failed = entries.findLast((entry) => entry.type === "run.finished")?.status === "failed"
  throw new ResumeError("finished", runId, `it has already finished${failed ? ", failed (retry it to run the failed step again)" : ""}`)
}

const check = (
  target: Target,
  runId: string,
  entries: readonly JournalEntry[],
  options: ResumeOptions,
  admit: (runId: string, entries: readonly JournalEntry[]) => void,
): readonly JournalEntry[] => {
  if (entries.length === 0) throw new ResumeError("unknown-run", runId, "the journal has no such run")
  // checkJournal has made sure the first event is run.started.
  const started = entries[0] as Extract<JournalEntry, { type: "run.started" }>
  if (started.pipeline !== target.id) throw new ResumeError("other-pipeline", runId, `it belongs to pipeline "${started.pipeline}", not "${target.id}"`)
  admit(runId, entries)
  if (started.structure !== undefined && options.allowStructureChange !== true) {
    const changes = structureChanges(started.structure, structureOf(target.graph))
    if (changes.length > 0) {
      throw new ResumeError(
        "structure-changed",
        runId,
        "the pipeline changed since the run started (pass allowStructureChange: true to resume anyway)",
        changes,
      )
    }
  }
  return entries
}

/**
 * The wait a run's journal holds open that is due first (the earliest deadline), with `step` the
 * pipeline's own step it is inside; every open wait is in `pendingOf` (run/pending-decisions.ts).
 */
export const waitingOf = (
  entries: readonly JournalEntry[],
): { readonly step: string; readonly visit: number; readonly deadline: number | undefined } | undefined => {
  const wait = waitDueFirst(entries)
  return wait === undefined ? undefined : { step: wait.step, visit: wait.visit, deadline: wait.deadline }
}

/**
 * The deadline of the latest pause of `step`, when that pause ended at its deadline (the run took
 * the timeout route) and the run has not waited on `step` since.
 */
export const expiredPauseOf = (entries: readonly JournalEntry[], step: string): number | undefined => {
  let pause: { visit: number; deadline: number | undefined; expired: boolean } | undefined
  for (const entry of entries) {
    if (entry.type === "human.waiting" && entry.step === step) pause = { visit: entry.visit, deadline: entry.deadline, expired: false }
    else if (entry.type === "human.expired" && entry.step === step && pause?.visit === entry.visit) pause.expired = true
  }
  return pause?.expired === true ? pause.deadline : undefined
}

/**
 * Delivers decisions to a paused run through its journal: checks the run waits at each address,
 * that no wait's deadline has passed, and that each decision fits its step's schema, journals
 * them all in one write (all or none), then resumes. One wrong decision refuses the whole batch
 * with a DecisionError naming its address, nothing written. A decision after the deadline is
 * refused as `late`: the timeout route applies instead, taken by a worker, a later `resume`, or already.
 */
export const decideRun = async (
  target: Target,
  runId: string,
  decisions: ReadonlyArray<readonly [string, unknown]>,
  options: ResumeOptions,
  validate: (path: string, decision: unknown) => unknown,
): Promise<RunResult<never>> => {
  if (decisions.length === 0) throw new DecisionError("invalid-decision", `no decision given for run ${runId}`)
  try {
    return await resumeRun(target, runId, options, async (entries) => {
      const pending = [...pendingOf(entries)]
      const now = Date.now()
      const added: JournalEntry[] = []
      for (const [path, decision] of decisions) {
        const waiting = pending.find((wait) => wait.path === path)
        if (waiting === undefined) {
          const expired = expiredPauseOf(entries, path)
          if (expired !== undefined) throw lateDecision(path, expired, now)
          const open = pending.map((wait) => `"${wait.path}"`).join(", ")
          const already = added.some((entry) => entry.type === "human.decided" && entry.step === path)
          throw new DecisionError(
            "not-waiting",
            `run ${runId} is not waiting on "${path}"${already ? " (it is decided twice in this batch)" : open === "" ? "" : ` (it waits on ${open})`}`,
          )
        }
        if (waiting.deadline !== undefined && waiting.deadline <= now) throw lateDecision(path, waiting.deadline, now)
        const parsed = validate(path, decision)
        added.push({
          type: "human.decided",
          runId,
          step: path,
          visit: waiting.visit,
          decision: parsed,
          at: now,
          seq: entries.length + added.length,
        } as JournalEntry)
        pending.splice(pending.indexOf(waiting), 1)
      }
      // All or none: a crash or a refused write leaves either every decision of the batch or none.
      if (options.journal.appendMany !== undefined) await options.journal.appendMany(added)
      else for (const entry of added) await options.journal.append(entry)
      return added
    })
  } catch (error) {
    // The timeout route may have taken the run to its end already: the decision is still late, not "finished".
    if (error instanceof ResumeError && error.reason === "finished") {
      const timeoutMs = options.journalTimeout === undefined ? defaultJournalTimeoutMs : toMillis(options.journalTimeout, "journalTimeout")
      const entries = await bounded(options.journal.read(runId), timeoutMs, `the read of run ${runId}`)
      for (const [path] of decisions) {
        const expired = expiredPauseOf(entries, path)
        if (expired !== undefined) throw lateDecision(path, expired)
      }
    }
    throw error
  }
}
