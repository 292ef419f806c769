// The journal writer of one execution: appends each event in order (in batches where the journal
// takes them), writes a replayed event only once, redacts what it journals and what listeners
// see, bounds every write in time, and turns a failed write into the run's end instead of a crash.
import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { Journal, JournalEntry } from "../contract/journal.ts"
import { journalFormOf } from "../contract/model-calls.ts"
import type { Redactor } from "../contract/redaction.ts"
import { discardingJournal } from "./discarding-journal.ts"
import { bounded, defaultJournalTimeoutMs, journalErrorOf } from "./journal-failure.ts"
import { eventKey, type Replay } from "./replay.ts"
import type { EventStream } from "./result.ts"

/**
 * Where one execution's events go and what it needs to know of them.
 *
 * @example
 * const options: JournalWriterOptions = { journal, redaction: redactor(), listeners: [], seq: 0, onFailure: (error) => actor.send({ type: "run.cancel", error }) }
 */
export interface JournalWriterOptions {
  readonly journal: Journal
  readonly redaction: Redactor
  /** Told of every event once it is journaled (redacted); a listener that throws is ignored. */
  readonly listeners: ReadonlyArray<(event: RunEvent) => void>
  /** The run handle's event stream, when it has one. */
  readonly stream?: EventStream | undefined
  /** A resumed run: the events its journal already holds are not written again. */
  readonly replay?: Replay | undefined
  /** Journal position of the next event. */
  readonly seq: number
  /** How long one write may take before the run stops with a `timeout` JournalError (default 30 s). */
  readonly timeoutMs?: number
  /** Called once, at the first write that fails (or a lost claim): the run must stop, with `error`. */
  readonly onFailure: (error: RunError) => void
}

/**
 * One execution's journal writer.
 *
 * @example
 * const writer = journalWriter(options)
 * await writer.record({ type: "step.started", runId, step: "classify", visit: 1, at: Date.now() })
 */
export const journalWriter = (options: JournalWriterOptions) => {
  const { journal, redaction, listeners, stream, replay } = options
  const timeoutMs = options.timeoutMs ?? defaultJournalTimeoutMs
  const store = journal.label ?? "journal"
  let seq = options.seq
  let pending: Promise<void> | undefined
  let journalFailure: RunError | undefined
  // After the run's end is journaled nothing more is (a cancelled step that settles late).
  let closed = false
  // A journal that cannot write ends the run (failed) instead of crashing the process: nothing
  // after the last durable event is claimed as done, and no more user code runs (StepJournal).
  const stop = (failure: RunError) => {
    if (journalFailure !== undefined) return
    journalFailure = failure
    options.onFailure(failure)
  }
  const onJournalFailure = (error: unknown, step?: string) => {
    if (journalFailure === undefined) stop(redaction.error(journalErrorOf(error, store, step)))
  }
  const stepOf = (event: RunEvent) => ("step" in event && typeof event.step === "string" ? event.step : undefined)
  const notify = (event: RunEvent) => {
    if (listeners.length === 0 && stream === undefined) return
    let visible: RunEvent
    try {
      visible = redaction.full(event)
    } catch {
      // A value redaction cannot walk must not fail the write it follows; the journal has the event.
      return
    }
    stream?.push(visible)
    for (const listener of listeners) {
      try {
        listener(visible)
      } catch {
        // A listener's bug must not change the run; the journal still has the event.
      }
    }
  }
  // A journal that writes several events in one commit (Postgres) gets batches: every event
  // recorded while the previous batch is being written, or in the same turn of the event loop (a
  // step's `route.taken` and `step.started`), goes in the next one. Batches are written in order.
  type Batch = { readonly entries: JournalEntry[]; readonly events: RunEvent[]; written?: Promise<void> }
  const appendMany = journal.appendMany?.bind(journal)
  let writing: Promise<void> = Promise.resolve()
  let collecting: Batch | undefined
  const appendToBatch = (entry: JournalEntry, event: RunEvent): Promise<void> => {
    let batch = collecting
    if (batch === undefined) {
      const next: Batch = { entries: [], events: [] }
      next.written = writing.then(async () => {
        if (collecting === next) collecting = undefined
        if (journalFailure !== undefined || appendMany === undefined) return
        try {
          await bounded(appendMany(next.entries), timeoutMs, `the write of ${next.entries.length} events`)
        } catch (error) {
          return onJournalFailure(error, stepOf(next.events[0] as RunEvent))
        }
        for (const written of next.events) notify(written)
      })
      writing = next.written
      collecting = batch = next
    }
    batch.entries.push(entry)
    batch.events.push(event)
    return batch.written as Promise<void>
  }
  // Appends in order; stays synchronous while the journal is (memory), chains when it is not.
  const append = (event: RunEvent): void | Promise<void> => {
    if (journalFailure !== undefined || closed) return
    if (event.type === "run.finished") closed = true
    if (replay !== undefined) {
      // Replaying what the journal holds produces those events again: write each only once.
      const key = eventKey(event)
      const count = replay.journaled.get(key) ?? 0
      if (count > 0) {
        replay.journaled.set(key, count - 1)
        return
      }
    }
    if (appendMany !== undefined) {
      let entry: JournalEntry
      try {
        entry = { ...redaction.journal(journalFormOf(event)), seq } as JournalEntry
      } catch (error) {
        return onJournalFailure(error, stepOf(event))
      }
      seq++
      return appendToBatch(entry, event)
    }
    let written: void | Promise<void>
    const entrySeq = seq
    try {
      // Nobody reads a discarded journal back: no copy, no redaction for it (an agent's model
      // calls carry the whole conversation, every turn).
      written = journal === discardingJournal ? undefined : journal.append({ ...redaction.journal(journalFormOf(event)), seq })
    } catch (error) {
      return onJournalFailure(error, stepOf(event))
    }
    seq++
    if (written instanceof Promise) {
      return bounded(written, timeoutMs, `the write of ${event.type} #${entrySeq}`).then(
        () => {
          if (journalFailure === undefined) notify(event)
        },
        (error: unknown) => onJournalFailure(error, stepOf(event)),
      )
    }
    notify(event)
  }
  const record = (event: RunEvent): void | Promise<void> => {
    if (appendMany !== undefined) return append(event)
    if (pending !== undefined) return (pending = pending.then(() => append(event)))
    const written = append(event)
    if (written instanceof Promise) {
      const chained: Promise<void> = written.finally(() => {
        if (pending === chained) pending = undefined
      })
      pending = chained
      return chained
    }
  }
  return {
    /** Journals an event (awaited before the machine moves on), then tells the listeners. */
    record,
    /** Tells the listeners without journaling (streamed text, events journaled elsewhere). */
    notify,
    /** Ends the writing: nothing more is appended, and the run is told to stop. */
    fail: onJournalFailure,
    /** Ends the writing with `error` as it is (a drained run): nothing more is appended, and the run is told to stop. */
    halt: stop,
    /** How long one journal operation of this run may take. */
    timeoutMs,
    /** Bounds another journal operation of this run (a snapshot, a claim) like a write. */
    bounded: <TValue>(operation: Promise<TValue>, what: string) => bounded(operation, timeoutMs, what),
    /** Why writing ended, if it has. */
    failure: (): RunError | undefined => journalFailure,
  }
}
