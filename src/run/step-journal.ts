import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"

/**
 * A step's journal writer that never rejects: the first write that fails (or throws) is kept as
 * the step's `refusal`, and nothing more is written. The attempt executor reads it before any
 * user code runs (run/attempt.ts), so no user code runs after a refused write.
 *
 * @example
 * const journal = new StepJournal(services.record, "fetch")
 * await journal.record(event)
 * if (journal.refusal !== undefined) throw journal.refusal
 */
export class StepJournal {
  refusal: RunError | undefined
  readonly #write: (event: RunEvent) => void | Promise<void>
  readonly #step: string

  constructor(write: (event: RunEvent) => void | Promise<void>, step: string) {
    this.#write = write
    this.#step = step
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

  readonly #refuse = (error: unknown): void => {
    this.refusal ??= { _tag: "CancelledError", step: this.#step, message: `journal write failed: ${error instanceof Error ? error.message : String(error)}` }
  }
}
