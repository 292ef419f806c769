import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { type StepError, toStepError } from "../../contract/errors.ts"
import type { FnStep, StepContext } from "../../definition/steps/step.ts"
import { cancelledError, fromUntyped, isThenable, runAttempts, untilAborted } from "../attempt.ts"
import { DecisionError } from "../result.ts"
import type { StepRun } from "../services.ts"
import { runErrorOfCause } from "../step-failure.ts"

/**
 * A `fn` step: its code under the step policy, each attempt with its own signal as `ctx.signal`.
 *
 * @example
 * const output = await runFn(step, stepRun)
 */
export const runFn = (step: FnStep<unknown, StepContext<unknown, Record<string, unknown>>>, { name, context, scope }: StepRun): Promise<unknown> =>
  runAttempts(scope, (signal) => settleCode(step.run(signal === context.signal ? context : { ...context, signal }), signal), {
    toError: (thrown) => codeFailure(name, thrown),
  })

/**
 * What user code threw, as a step error: a typed error as it is, anything else a `StepCodeError`
 * that keeps the thrown value's evidence. One made from an untyped value (a plain `Error`) is
 * retried only under an explicit `retry.attempts`; a `DecisionError` never.
 *
 * @example
 * codeFailure("total", new TypeError("x is undefined")) // a StepCodeError, retried only under retry.attempts
 */
export const codeFailure = (name: string, thrown: unknown): StepError => {
  const error = toStepError(name, thrown)
  return error === thrown || thrown instanceof DecisionError ? error : fromUntyped(error)
}

/**
 * What user code returned, settled as a value or a promise: an Effect runs here, interrupted when
 * `signal` aborts; whatever it fails with is thrown as it is.
 *
 * @example
 * const value = await settleCode(Effect.succeed(42), signal) // 42
 */
export const settleCode = (result: unknown, signal?: AbortSignal): unknown => {
  if (!Effect.isEffect(result)) return result
  return Effect.runPromiseExit(result as Effect.Effect<unknown, unknown>, signal === undefined ? {} : { signal }).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.findErrorOption(exit.cause)
    throw failure._tag === "Some" ? failure.value : Cause.squash(exit.cause)
  })
}

/**
 * Runs user code once, outside the attempts (a retriever's query): its value, promise or Effect,
 * abandoned when `signal` aborts. Rejects with a step error, or a `CancelledError` RunError.
 *
 * @example
 * const query = await runOnce("search", () => step.query(context), signal)
 */
export const runOnce = async (name: string, run: () => unknown, signal: AbortSignal): Promise<unknown> => {
  if (signal.aborted) throw cancelledError(name)
  try {
    const result = settleCode(run(), signal)
    return isThenable(result) ? await untilAborted(result, signal) : result
  } catch (thrown) {
    throw signal.aborted ? cancelledError(name) : codeFailure(name, thrown)
  }
}

/**
 * Runs a step's Effect program (a map, a nested pipeline) with the step's signal; rejects with its RunError.
 *
 * @example
 * const outputs = await runProgram("summarise", runMap(step, stepRun), signal)
 */
export const runProgram = async (name: string, program: Effect.Effect<unknown, StepError>, signal: AbortSignal): Promise<unknown> => {
  const exit = await Effect.runPromiseExit(program, { signal })
  if (Exit.isSuccess(exit)) return exit.value
  throw runErrorOfCause(name, exit.cause)
}

/** Runs user code that may return a value, a promise or an Effect; whatever it throws becomes a StepCodeError. */
export const runCode = (name: string, run: () => unknown): Effect.Effect<unknown, StepError> =>
  Effect.suspend(() => {
    let result: unknown
    try {
      result = run()
    } catch (error) {
      return Effect.fail(toStepError(name, error))
    }
    if (Effect.isEffect(result)) return (result as Effect.Effect<unknown, unknown>).pipe(Effect.mapError((error) => toStepError(name, error)))
    if (isThenable(result)) return Effect.tryPromise({ try: () => result as PromiseLike<unknown>, catch: (error) => toStepError(name, error) })
    return Effect.succeed(result)
  })
