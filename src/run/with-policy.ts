import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { StepTimeoutError, type StepError } from "../contract/errors.ts"
import type { ResolvedPolicy } from "../definition/policy.ts"

/** Told before each retry sleeps: which attempt failed, why, and how long we wait. */
export type OnRetry = (failedAttempt: number, error: StepError, delayMs: number) => void

/**
 * Builds the retry schedule of a policy: exponential backoff with jitter, capped at
 * `maxDelayMs`, never shorter than the error's `retryAfterMs`, only while the error is retryable.
 */
export const retrySchedule = (policy: ResolvedPolicy, onRetry: OnRetry) =>
  Schedule.exponential(Duration.millis(policy.initialDelayMs), policy.factor).pipe(
    (schedule) => (policy.jitter ? Schedule.jittered(schedule) : schedule),
    Schedule.upTo({ times: policy.attempts - 1 }),
    Schedule.setInputType<StepError>(),
    Schedule.while(({ input }) => input.retryable),
    Schedule.modifyDelay(({ input, duration }) => {
      const capped = Math.min(Duration.toMillis(duration), policy.maxDelayMs)
      const wait = input._tag === "ModelError" && input.retryAfterMs !== undefined ? Math.max(capped, input.retryAfterMs) : capped
      return Effect.succeed(Duration.millis(wait))
    }),
    Schedule.tap(({ input, duration, attempt }) =>
      Effect.sync(() => onRetry(attempt, input, Math.round(Duration.toMillis(duration))))),
  )

/**
 * Runs one attempt under a policy: per-attempt timeout, retries, then a timeout for the whole step.
 * Interruption (the step's AbortSignal) stops whichever of these is running.
 */
export const withPolicy = <A>(
  step: string,
  attempt: Effect.Effect<A, StepError>,
  policy: ResolvedPolicy,
  onRetry: OnRetry,
  options: { readonly attemptTimesItself?: boolean } = {},
): Effect.Effect<A, StepError> => {
  // An attempt that enforces its own deadline (model calls, with a timer beside the request)
  // spares the two fibers a race would fork on every step.
  const timedAttempt =
    policy.attemptTimeoutMs === undefined || options.attemptTimesItself === true
      ? attempt
      : attempt.pipe(
          Effect.timeout(Duration.millis(policy.attemptTimeoutMs)),
          Effect.catchTag("TimeoutError", () =>
            Effect.fail(timeoutError(step, "attempt", policy.attemptTimeoutMs ?? 0, true))),
        )
  const retried = policy.attempts > 1 ? Effect.retry(timedAttempt, retrySchedule(policy, onRetry)) : timedAttempt
  if (policy.timeoutMs === undefined) return retried
  const stepTimeoutMs = policy.timeoutMs
  return retried.pipe(
    Effect.timeout(Duration.millis(stepTimeoutMs)),
    Effect.catchTag("TimeoutError", () => Effect.fail(timeoutError(step, "step", stepTimeoutMs, false))),
  )
}

/** The error of an attempt or a step that ran out of time. */
export const timeoutError = (step: string, scope: "attempt" | "step", ms: number, retryable: boolean) =>
  new StepTimeoutError({ step, scope, ms, retryable, message: `step "${step}": ${scope} timed out after ${ms}ms` })

/**
 * Runs a promise-returning call with a deadline: at `deadline` (epoch ms) the call's signal is
 * aborted and the promise rejects with `onTimeout()`. No fiber, one timer, cleared on settle.
 */
export const beforeDeadline = <A>(
  deadline: number,
  signal: AbortSignal,
  call: (signal: AbortSignal) => PromiseLike<A>,
  onTimeout: () => unknown,
): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const controller = new AbortController()
    const abort = () => controller.abort(signal.reason)
    const settle = () => {
      clearTimeout(timer)
      signal.removeEventListener("abort", abort)
    }
    const timer = setTimeout(() => {
      settle()
      const error = onTimeout()
      controller.abort(error)
      reject(error)
    }, Math.max(0, deadline - Date.now()))
    if (signal.aborted) controller.abort(signal.reason)
    else signal.addEventListener("abort", abort, { once: true })
    Promise.resolve(call(controller.signal)).then(
      (value) => {
        settle()
        resolve(value)
      },
      (error: unknown) => {
        settle()
        reject(error)
      },
    )
  })
