import * as Cause from "effect/Cause"
import { type RunError, serializeStepError } from "../contract/errors.ts"
import { cancelledError } from "./attempt.ts"

/**
 * The RunError of a step program that failed: its typed error, a `CancelledError` when it was
 * only interrupted (the step's signal), or the defect it died of; each keeps its evidence.
 *
 * @example
 * const exit = await Effect.runPromiseExit(program, { signal })
 * if (Exit.isFailure(exit)) throw runErrorOfCause("classify", exit.cause)
 */
export const runErrorOfCause = (step: string, cause: Cause.Cause<unknown>): RunError => {
  const failure = Cause.findErrorOption(cause)
  if (failure._tag === "Some") return serializeStepError(step, failure.value)
  if (Cause.hasInterruptsOnly(cause)) return cancelledError(step)
  return serializeStepError(step, Cause.squash(cause))
}
