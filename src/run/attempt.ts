// The one attempt executor of every step kind (fn, tool, llm and each fallback model, retrieve,
// an agent's model turn and tool call; branches and map items are steps run by execute-step.ts).
// Plain promises, timers and AbortControllers: no fiber, so a step without retries or timeouts
// costs no more than calling its code. Effect runs only where user code returns an Effect.
import { type RunError, type StepError, StepTimeoutError } from "../contract/errors.ts"
import type { ResolvedPolicy } from "../definition/policy.ts"

/** Told before each retry sleeps: which attempt failed, why, and how long we wait. */
export type OnRetry = (failedAttempt: number, error: StepError, delayMs: number) => void | Promise<void>

/**
 * What the attempts of one step share: its policy, the step's signal (aborted when the state is
 * left or the run is cancelled), the step's deadline, who hears of retries, and its journal.
 *
 * @example
 * const scope: AttemptScope = { step: "fetch", policy, signal, deadline: Date.now() + 10_000, onRetry: () => {} }
 */
export interface AttemptScope {
  readonly step: string
  readonly policy: ResolvedPolicy
  readonly signal: AbortSignal
  /** When the step's `timeout` ends (epoch ms), if it has one. */
  readonly deadline: number | undefined
  readonly onRetry: OnRetry
  /** The step's journal writer: once it holds a refusal, no more user code runs. */
  readonly journal?: { readonly refusal: RunError | undefined }
}

/** One attempt of a step kind's work, given the attempt's own signal. */
type Attempt<TValue> = (signal: AbortSignal) => TValue | PromiseLike<TValue>

/**
 * How one kind's attempt is run: how what it throws becomes a step error, and whether it settles
 * by itself as soon as its signal aborts (it races its own calls, so it can journal how they ended).
 *
 * @example
 * const options: AttemptOptions = { toError: (thrown) => toStepError("fetch", thrown) }
 */
export interface AttemptOptions {
  readonly toError: (thrown: unknown) => StepError
  readonly settlesOnAbort?: boolean
}

// Step errors made from a thrown value that says nothing about retrying (a plain Error): only an
// explicit `retry.attempts` retries them.
const untyped = new WeakSet<object>()

/**
 * Marks a step error made from an untyped thrown value (a plain `Error`, a string): it is retried
 * only when the user set `retry.attempts`.
 *
 * @example
 * const error = fromUntyped(new StepCodeError({ step, retryable: false, message: messageOf(thrown) }))
 */
export const fromUntyped = <TError extends StepError>(error: TError): TError => {
  untyped.add(error)
  return error
}

/**
 * The retry rule, in one place: a typed error is retried when it says it is retryable; an untyped
 * one only under an explicit `retry.attempts`; a configuration error, a cancellation or a refused
 * journal write never.
 *
 * @example
 * isRetryable(new StepCodeError({ step: "fetch", retryable: true, message: "flaky" }), policy) // true
 */
export const isRetryable = (error: StepError | RunError, policy: ResolvedPolicy): boolean => {
  if (untyped.has(error)) return policy.retryAny
  if (error._tag === "ConfigurationError") return false
  return "retryable" in error && error.retryable === true
}

/**
 * The error of an attempt or a step that ran out of time.
 *
 * @example
 * timeoutError("classify", "attempt", 30_000, true)
 */
export const timeoutError = (step: string, scope: "attempt" | "step", ms: number, retryable: boolean) =>
  new StepTimeoutError({ step, scope, ms, retryable, message: `step "${step}": ${scope} timed out after ${ms}ms` })

/**
 * The error of a step whose state was left or whose run was cancelled.
 *
 * @example
 * cancelledError("classify") // { _tag: "CancelledError", step: "classify", message: 'step "classify" was cancelled' }
 */
export const cancelledError = (step: string): RunError => ({ _tag: "CancelledError", step, message: `step "${step}" was cancelled` })

/**
 * Resolves with `value` (or what the promise settles with), or rejects with the signal's reason as
 * soon as it aborts. The promise always gets a handler: an abandoned one never goes unhandled.
 *
 * @example
 * const response = await untilAborted(fetch(url, { signal }), signal)
 */
export const untilAborted = <TValue>(value: TValue | PromiseLike<TValue>, signal: AbortSignal): Promise<TValue> =>
  new Promise<TValue>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    Promise.resolve(value).then(
      (settled) => (signal.removeEventListener("abort", onAbort), resolve(settled)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    )
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
  })

/**
 * Runs `attempt` under the scope's policy: each attempt with its own signal (aborted at its
 * timeout, the step's timeout, or when the step's signal aborts), no attempt started once the step
 * is cancelled, out of time or its journal refused a write, and retries decided by
 * {@link isRetryable}. Resolves with the first attempt that succeeds in time; rejects with a
 * `StepError`, or a `CancelledError` RunError.
 *
 * @example
 * const output = await runAttempts(scope, (signal) => fetchOrder(id, signal), { toError: (thrown) => toStepError("fetch", thrown) })
 */
export const runAttempts = <TValue>(scope: AttemptScope, attempt: Attempt<TValue>, options: AttemptOptions): Promise<TValue> =>
  attemptFrom(scope, attempt, options, 1)

// Attempt `number`, then the retry its failure earns. No async frame stays alive while an attempt
// runs: at ten thousand runs in flight, every frame and closure is memory.
const attemptFrom = <TValue>(scope: AttemptScope, attempt: Attempt<TValue>, options: AttemptOptions, number: number): Promise<TValue> => {
  let result: TValue | Promise<TValue>
  try {
    result = attemptOnce(scope, attempt, options)
  } catch (error) {
    return retryAfter(scope, attempt, options, number, error)
  }
  if (!(result instanceof Promise)) return Promise.resolve(result)
  return number >= scope.policy.attempts ? result : result.catch((error: unknown) => retryAfter(scope, attempt, options, number, error))
}

const retryAfter = async <TValue>(scope: AttemptScope, attempt: Attempt<TValue>, options: AttemptOptions, failed: number, thrown: unknown): Promise<TValue> => {
  const error = thrown as StepError | RunError
  if (failed >= scope.policy.attempts || !isRetryable(error, scope.policy)) throw error
  const delayMs = retryDelay(scope, failed, error as StepError)
  // A retry-after the policy cannot honour ends the retries now, with the reason the provider gave.
  if (delayMs === undefined) throw error
  await scope.onRetry(failed, error as StepError, delayMs)
  await sleep(scope, delayMs)
  return attemptFrom(scope, attempt, options, failed + 1)
}

/** Why nothing more may start: the step was cancelled, its journal refused a write, or its time is up. */
const stopOf = (scope: AttemptScope): StepError | RunError | undefined => {
  if (scope.signal.aborted) return cancelledError(scope.step)
  const refused = scope.journal?.refusal
  if (refused !== undefined) return refused
  if (scope.deadline !== undefined && Date.now() >= scope.deadline) return timeoutError(scope.step, "step", scope.policy.timeoutMs ?? 0, false)
}

/**
 * The clock of one attempt: its own AbortController, aborted at the first of the attempt's and
 * the step's deadlines or when the step's signal aborts.
 */
class AttemptClock {
  readonly controller = new AbortController()
  readonly limit: number | undefined
  readonly stepFirst: boolean
  readonly timer: ReturnType<typeof setTimeout> | undefined
  readonly scope: AttemptScope
  readonly onStepAbort = () => this.controller.abort(cancelledError(this.scope.step))

  constructor(scope: AttemptScope, attemptDeadline: number | undefined) {
    this.scope = scope
    const { deadline } = scope
    this.stepFirst = deadline !== undefined && (attemptDeadline === undefined || deadline <= attemptDeadline)
    this.limit = this.stepFirst ? deadline : attemptDeadline
    this.timer = this.limit === undefined ? undefined : setTimeout(abortAtLimit, Math.max(0, this.limit - Date.now()), this)
    scope.signal.addEventListener("abort", this.onStepAbort, { once: true })
  }

  timeout(): StepTimeoutError {
    const { step, policy } = this.scope
    return this.stepFirst ? timeoutError(step, "step", policy.timeoutMs ?? 0, false) : timeoutError(step, "attempt", policy.attemptTimeoutMs ?? 0, true)
  }

  /** Stops the clock; the timeout error when the attempt ended after its time was up (blocking code). */
  stop(): StepTimeoutError | undefined {
    clearTimeout(this.timer)
    this.scope.signal.removeEventListener("abort", this.onStepAbort)
    if (this.limit === undefined || Date.now() <= this.limit || this.controller.signal.aborted) return undefined
    const error = this.timeout()
    this.controller.abort(error)
    return error
  }
}

const abortAtLimit = (clock: AttemptClock) => clock.controller.abort(clock.timeout())

const attemptOnce = <TValue>(scope: AttemptScope, attempt: Attempt<TValue>, options: AttemptOptions): TValue | Promise<TValue> => {
  const stop = stopOf(scope)
  if (stop !== undefined) throw stop
  const { policy, deadline } = scope
  const attemptDeadline = policy.attemptTimeoutMs === undefined ? undefined : Date.now() + policy.attemptTimeoutMs
  // The fast path: one attempt and no clock, so the step's own signal is the attempt's.
  const clock = attemptDeadline === undefined && deadline === undefined && policy.attempts === 1 ? undefined : new AttemptClock(scope, attemptDeadline)
  const signal = clock === undefined ? scope.signal : clock.controller.signal
  let result: TValue | PromiseLike<TValue>
  try {
    result = attempt(signal)
  } catch (thrown) {
    clock?.stop()
    throw failureOf(scope, options, signal, thrown)
  }
  if (!isThenable(result)) {
    // Synchronous code cannot be interrupted: an answer that comes after its time is discarded.
    const overrun = clock?.stop()
    if (overrun !== undefined) throw overrun
    return result
  }
  return settle(scope, options, signal, clock, result)
}

/**
 * Settles a running attempt: rejects as soon as its signal aborts (unless the attempt settles by
 * itself then), treats an answer after its deadline as a timeout, and always handles the promise.
 */
const settle = <TValue>(
  scope: AttemptScope,
  options: AttemptOptions,
  signal: AbortSignal,
  clock: AttemptClock | undefined,
  result: PromiseLike<TValue>,
): Promise<TValue> => {
  const done = (value: TValue): TValue => {
    const overrun = clock?.stop()
    if (overrun !== undefined) throw overrun
    return value
  }
  if (options.settlesOnAbort === true) {
    return Promise.resolve(result).then(done, (thrown: unknown) => {
      clock?.stop()
      throw failureOf(scope, options, signal, thrown)
    })
  }
  return new Promise<TValue>((resolve, reject) => {
    const onAbort = () => {
      clock?.stop()
      reject(failureOf(scope, options, signal, undefined))
    }
    Promise.resolve(result).then(
      (value) => {
        signal.removeEventListener("abort", onAbort)
        try {
          resolve(done(value))
        } catch (error) {
          reject(error)
        }
      },
      (thrown: unknown) => {
        signal.removeEventListener("abort", onAbort)
        clock?.stop()
        reject(failureOf(scope, options, signal, thrown))
      },
    )
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
  })
}

// After the attempt's signal aborted, whatever the code threw is the abort's doing: the failure is
// the timeout, or the cancellation.
const failureOf = (scope: AttemptScope, options: AttemptOptions, signal: AbortSignal, thrown: unknown): StepError | RunError => {
  if (!signal.aborted) return options.toError(thrown)
  return signal.reason instanceof StepTimeoutError ? signal.reason : cancelledError(scope.step)
}

/** Exponential backoff with ±20% jitter, capped at `maxDelay`; undefined when a retry-after cannot be honoured. */
const retryDelay = (scope: AttemptScope, failedAttempt: number, error: StepError): number | undefined => {
  const { policy, deadline } = scope
  const backoff = policy.initialDelayMs * policy.factor ** (failedAttempt - 1)
  const delayMs = Math.min(policy.jitter ? backoff * (0.8 + Math.random() * 0.4) : backoff, policy.maxDelayMs)
  if (error._tag !== "ModelError" || error.retryAfterMs === undefined) return Math.round(delayMs)
  const retryAfterMs = error.retryAfterMs
  if (retryAfterMs > policy.maxDelayMs || (deadline !== undefined && Date.now() + retryAfterMs > deadline)) return undefined
  return Math.round(Math.max(delayMs, retryAfterMs))
}

/** Waits before a retry; rejects when the step is cancelled or its deadline comes first. */
const sleep = (scope: AttemptScope, delayMs: number): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    const stop = stopOf(scope)
    if (stop !== undefined) return reject(stop)
    const { deadline } = scope
    // A sleep that would outlast the step ends at its deadline, with the step's timeout.
    const sleepMs = deadline === undefined ? delayMs : Math.max(0, Math.min(Date.now() + delayMs, deadline) - Date.now())
    const onAbort = () => {
      clearTimeout(timer)
      reject(cancelledError(scope.step))
    }
    const wake = () => {
      scope.signal.removeEventListener("abort", onAbort)
      const stopped = stopOf(scope)
      if (stopped === undefined) resolve()
      else reject(stopped)
    }
    const timer = setTimeout(wake, sleepMs)
    scope.signal.addEventListener("abort", onAbort, { once: true })
  })

/**
 * Whether a value is a promise or another thenable.
 *
 * @example
 * isThenable(Promise.resolve(1)) // true
 */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
