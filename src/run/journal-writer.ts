// The journal writer of one execution: appends each event in order (in batches where the journal
// takes them), writes a replayed event only once, redacts what it journals and what listeners
// see, and turns a failed write into the run's end instead of a crash.
import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { Journal, JournalEntry } from "../contract/journal.ts"
import type { Redactor } from "../contract/redaction.ts"
import { discardingJournal } from "./discarding-journal.ts"
import { eventKey, type Replay } from "./replay.ts"
import type { EventStream } from "./result.ts"

/**
 * Where one execution's events go and what it needs to know of them.
 *
 * @example
 * const options: JournalWriterOptions = { journal, redaction: redactor(), listeners: [], seq: 0, onFailure: (reason) => actor.send({ type: "run.cancel", reason }) }
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
  /** Called once, at the first write that fails (or a lost claim): the run must stop. */
  readonly onFailure: (reason: string) => void
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
  let seq = options.seq
  let pending: Promise<void> | undefined
  let journalFailure: RunError | undefined
  // A journal that cannot write ends the run (failed) instead of crashing the process: nothing
  // after the last durable event is claimed as done.
  const onJournalFailure = (error: unknown) => {
    if (journalFailure !== undefined) return
    const message = `journal write failed: ${error instanceof Error ? error.message : String(error)}`
    journalFailure = { _tag: "CancelledError", message: `run cancelled: ${message}` }
    options.onFailure(message)
  }
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
          await appendMany(next.entries)
        } catch (error) {
          return onJournalFailure(error)
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
    if (journalFailure !== undefined) return
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
        entry = { ...redaction.journal(event), seq } as JournalEntry
      } catch (error) {
        return onJournalFailure(error)
      }
      seq++
      return appendToBatch(entry, event)
    }
    let written: void | Promise<void>
    try {
      // Nobody reads a discarded journal back: no copy, no redaction for it (an agent's model
      // calls carry the whole conversation, every turn).
      written = journal === discardingJournal ? undefined : journal.append({ ...redaction.journal(event), seq })
    } catch (error) {
      return onJournalFailure(error)
    }
    seq++
    if (written instanceof Promise) return written.then(() => notify(event), onJournalFailure)
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
    /** Why writing ended, if it has. */
    failure: (): RunError | undefined => journalFailure,
  }
}
