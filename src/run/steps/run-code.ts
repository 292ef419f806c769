import type { StepDone } from "../../compile/run-context.ts"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ConfigurationError, ModelError, StepCodeError, ToolError, messageOf, type StepError } from "../../contract/errors.ts"
import type { StepContext } from "../../definition/steps/step.ts"

/**
 * The fast path for `fn` steps without retries or timeouts: plain code needs no fiber. An Effect
 * result still runs on Effect; a promise is raced with the step's signal so a cancelled step ends.
 */
export const runPlainFn = async (
  run: (context: StepContext<unknown, Record<string, unknown>>) => unknown,
  name: string,
  context: StepContext<unknown, Record<string, unknown>>,
  signal: AbortSignal,
  chooseNext: (output: unknown) => string,
  routeError: (error: unknown) => StepError,
): Promise<Exit.Exit<StepDone, StepError>> => {
  let output: unknown
  try {
    output = run(context)
    if (Effect.isEffect(output)) {
      const exit = await Effect.runPromiseExit((output as Effect.Effect<unknown, unknown>).pipe(Effect.mapError((error) => toStepError(name, error))), { signal })
      if (Exit.isFailure(exit)) return exit as Exit.Exit<never, StepError>
      output = exit.value
    } else if (isThenable(output)) {
      output = await untilAborted(output, signal)
      if (output === aborted) return Exit.interrupt()
    }
  } catch (error) {
    return Exit.fail(toStepError(name, error))
  }
  try {
    return Exit.succeed({ output, next: chooseNext(output) })
  } catch (error) {
    return Exit.fail(routeError(error))
  }
}

const aborted = Symbol("aborted")
const untilAborted = (promise: PromiseLike<unknown>, signal: AbortSignal): Promise<unknown> => {
  if (signal.aborted) return Promise.resolve(aborted)
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(aborted)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    )
  })
}


/** Runs user code that may return a value, a promise or an Effect; whatever it throws becomes a StepCodeError. */
export const runCode = (name: string, run: () => unknown): Effect.Effect<unknown, StepError> =>
  Effect.suspend(() => {
    let result: unknown
    try {
      result = run()
    } catch (error) {
      return Effect.fail(codeError(name, error))
    }
    if (Effect.isEffect(result)) return (result as Effect.Effect<unknown, unknown>).pipe(Effect.mapError((error) => toStepError(name, error)))
    if (isThenable(result)) return Effect.tryPromise({ try: () => result as PromiseLike<unknown>, catch: (error) => toStepError(name, error) })
    return Effect.succeed(result)
  })

export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

const isStepError = (error: unknown): error is StepError =>
  error instanceof ModelError || error instanceof ToolError || error instanceof StepCodeError || error instanceof ConfigurationError ||
  (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "StepTimeoutError")

export const toStepError = (name: string, error: unknown): StepError => (isStepError(error) ? error : codeError(name, error))
const codeError = (name: string, error: unknown) => new StepCodeError({ step: name, retryable: false, message: messageOf(error) })

