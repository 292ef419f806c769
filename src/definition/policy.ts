import type { DurationInput } from "../contract/duration.ts"
import { toMillis } from "../contract/duration.ts"

/**
 * Retry schedule of a step: exponential backoff with jitter, only for retryable errors, never
 * sooner than a `retryAfterMs` the error carries.
 *
 * @example
 * const retry: RetryPolicy = { attempts: 4, initialDelay: "200ms", factor: 2, maxDelay: "10s" }
 */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retry). */
  readonly attempts: number
  readonly initialDelay?: DurationInput
  readonly factor?: number
  readonly maxDelay?: DurationInput
  /** Randomise each delay within ±20% so that many runs do not retry in lockstep. Default true. */
  readonly jitter?: boolean
}

/**
 * How a step runs: retries, a timeout per attempt, and a timeout for the whole step
 * (all attempts and backoff included).
 *
 * @example
 * const policy: StepPolicy = { retry: { attempts: 3 }, attemptTimeout: "30s", timeout: "2m" }
 */
export interface StepPolicy {
  readonly retry?: RetryPolicy | false
  readonly attemptTimeout?: DurationInput
  readonly timeout?: DurationInput
  /** Streaming model calls: longest wait for the first chunk. */
  readonly firstTokenTimeout?: DurationInput
  /** Streaming model calls: longest silence between two chunks. */
  readonly idleTimeout?: DurationInput
}

/** A policy with every field resolved to numbers. */
export interface ResolvedPolicy {
  readonly attempts: number
  readonly initialDelayMs: number
  readonly factor: number
  readonly maxDelayMs: number
  readonly jitter: boolean
  readonly attemptTimeoutMs: number | undefined
  readonly timeoutMs: number | undefined
  readonly firstTokenTimeoutMs: number | undefined
  readonly idleTimeoutMs: number | undefined
  /**
   * The user set `retry.attempts` (step or pipeline policy, not a kind's default): any thrown
   * error is retried except those typed as not retryable.
   */
  readonly retryAny: boolean
}

/** No retries: one attempt. */
export const noRetry: RetryPolicy = { attempts: 1 }

/**
 * Merges policies, later ones winning field by field, and resolves durations. Every policy given
 * counts as the user's: one that sets `retry.attempts` makes the result `retryAny`. Throws a
 * `RangeError` naming `where` for an impossible value.
 *
 * @example
 * resolvePolicy('step "fetch"', { retry: { attempts: 3 } }, { timeout: "10s" }) // attempts 3, timeoutMs 10_000, retryAny true
 */
export const resolvePolicy = (where: string, ...policies: ReadonlyArray<StepPolicy | undefined>): ResolvedPolicy => merge(where, undefined, policies)

/**
 * The policy of a step: its kind's defaults (run/step-kinds.ts), then the user's policies
 * (pipeline, enclosing step, the step's own), later ones winning field by field. Only the user's
 * `retry.attempts` makes the result `retryAny`.
 *
 * @example
 * resolveStepPolicy('step "answer"', { retry: { attempts: 3 } }, pipelinePolicy, step.policy)
 */
export const resolveStepPolicy = (where: string, kindDefaults: StepPolicy | undefined, ...policies: ReadonlyArray<StepPolicy | undefined>): ResolvedPolicy =>
  merge(where, kindDefaults, policies)

const merge = (where: string, defaults: StepPolicy | undefined, policies: ReadonlyArray<StepPolicy | undefined>): ResolvedPolicy => {
  let retry: RetryPolicy = noRetry
  let attemptTimeout: DurationInput | undefined
  let timeout: DurationInput | undefined
  let firstTokenTimeout: DurationInput | undefined
  let idleTimeout: DurationInput | undefined
  // Whether the attempts in force came from the user: a kind's default of 3 must not widen what is retried.
  let retryAny = false
  for (const policy of [defaults, ...policies]) {
    if (policy === undefined) continue
    if (policy.retry !== undefined) {
      retry = policy.retry === false ? noRetry : { ...retry, ...policy.retry }
      if (policy.retry === false) retryAny = false
      else if (policy.retry.attempts !== undefined) retryAny = policy !== defaults
    }
    if (policy.attemptTimeout !== undefined) attemptTimeout = policy.attemptTimeout
    if (policy.timeout !== undefined) timeout = policy.timeout
    if (policy.firstTokenTimeout !== undefined) firstTokenTimeout = policy.firstTokenTimeout
    if (policy.idleTimeout !== undefined) idleTimeout = policy.idleTimeout
  }
  if (!Number.isInteger(retry.attempts) || retry.attempts < 1) {
    throw new RangeError(`${where}: retry.attempts must be an integer >= 1, got ${retry.attempts}`)
  }
  const factor = retry.factor ?? 2
  if (!(factor >= 1)) throw new RangeError(`${where}: retry.factor must be >= 1, got ${factor}`)
  return {
    attempts: retry.attempts,
    initialDelayMs: toMillis(retry.initialDelay ?? "500ms", `${where}: retry.initialDelay`),
    factor,
    maxDelayMs: toMillis(retry.maxDelay ?? "30s", `${where}: retry.maxDelay`),
    jitter: retry.jitter ?? true,
    attemptTimeoutMs: attemptTimeout === undefined ? undefined : toMillis(attemptTimeout, `${where}: attemptTimeout`),
    timeoutMs: timeout === undefined ? undefined : toMillis(timeout, `${where}: timeout`),
    firstTokenTimeoutMs: firstTokenTimeout === undefined ? undefined : toMillis(firstTokenTimeout, `${where}: firstTokenTimeout`),
    idleTimeoutMs: idleTimeout === undefined ? undefined : toMillis(idleTimeout, `${where}: idleTimeout`),
    retryAny,
  }
}
