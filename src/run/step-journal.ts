import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import { journalErrorOf } from "./journal-failure.ts"

/**
 * A step's journal writer that never rejects: the first write that fails (or throws) is kept as
 * the step's `refusal`, and nothing more is written. The attempt executor reads it before any
 * user code runs (run/attempt.ts), so no user code runs after a refused write — this step's, or
 * any write of the run (`runFailure`: a sibling branch's, a lost claim, a stalled store).
 *
 * @example
 * const journal = new StepJournal(services.record, "fetch", services.journalFailure)
 * await journal.record(event)
 * if (journal.refusal !== undefined) throw journal.refusal
 */
export class StepJournal {
  #refusal: RunError | undefined
  readonly #write: (event: RunEvent) => void | Promise<void>
  readonly #step: string
  readonly #runFailure: () => RunError | undefined

  constructor(write: (event: RunEvent) => void | Promise<void>, step: string, runFailure: () => RunError | undefined = () => undefined) {
    this.#write = write
    this.#step = step
    this.#runFailure = runFailure
  }

  /** Why this step may run no more code: its own write failed, or the run's journal stopped it. */
  get refusal(): RunError | undefined {
    if (this.#refusal === undefined) {
      const failure = this.#runFailure()
      if (failure !== undefined) this.#refusal = failure._tag === "JournalError" && failure.step === undefined ? { ...failure, step: this.#step } : failure
    }
    return this.#refusal
  }

  /** Writes `event` unless a write was refused; bound, so the step kinds call it as a plain function. */
  readonly record = (event: RunEvent): void | Promise<void> => {
    if (this.refusal !== undefined) return
    try {
      const written = this.#write(event)
      if (written instanceof Promise) return written.catch(this.#refuse)
    } catch (error) {
      this.#refuse(error)
    }
  }

  // The run's writer turns its own failures into the run's JournalError (run/journal-writer.ts);
  // what reaches here threw past it (a listener-free write path of an engine's executor).
  readonly #refuse = (error: unknown): void => {
    this.#refusal ??= this.#runFailure() ?? journalErrorOf(error, "journal", this.#step)
  }
}
