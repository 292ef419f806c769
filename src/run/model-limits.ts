// Limits on a model shared by everything in this process that calls it: every branch, map item,
// agent turn and run. One queue per `provider:model` and set of limits; a slot is taken before a
// call and given back after it. What holds is per process: each worker process has its own
// queues. Sharing a budget through the journal's database would put a round trip on every model
// call and need leases for a crashed holder's slots; a provider enforces its own limit per key,
// and its 429 with retry-after pauses this process's queue for everyone in it.
import { ModelError } from "../contract/errors.ts"
import type { ModelRequest, Usage } from "../contract/model.ts"
import { canonicalJson } from "./model-cache.ts"
import { ModelLimiter, type ModelSlot } from "./model-limiter.ts"

/**
 * Limits of one model: calls in flight at once, calls started per minute, tokens per minute
 * (estimated from the request before the call, corrected by the usage the answer reports).
 *
 * @example
 * const limit: ModelLimit = { inFlight: 8, requestsPerMinute: 500, tokensPerMinute: 200_000 }
 */
export interface ModelLimit {
  readonly inFlight?: number
  readonly requestsPerMinute?: number
  readonly tokensPerMinute?: number
}

/**
 * Limits by `provider:model` (the `Model`'s `provider` and `model` fields).
 *
 * @example
 * const limits: ModelLimits = { "openai:gpt-4.1-mini": { inFlight: 8, requestsPerMinute: 500 } }
 */
export type ModelLimits = Readonly<Record<string, ModelLimit>>

/**
 * A limit that cannot be met: zero, negative, not a number, or an unknown field. `key` is the
 * model it was given for, `field` the limit.
 *
 * @example
 * try { setModelLimits({ "openai:gpt-4.1-mini": { inFlight: 0 } }) } catch (error) { if (error instanceof ModelLimitError) console.error(error.field) }
 */
export class ModelLimitError extends RangeError {
  override readonly name = "ModelLimitError"
  readonly key: string
  readonly field: string
  constructor(key: string, field: string, message: string) {
    super(message)
    this.key = key
    this.field = field
  }
}

const fields = ["inFlight", "requestsPerMinute", "tokensPerMinute"] as const

/**
 * What is wrong with a set of limits, one message each naming the model and the field.
 *
 * @example
 * modelLimitProblems({ "openai:gpt-4.1-mini": { inFlight: 0 } }) // ['limits "openai:gpt-4.1-mini": inFlight must be a positive number, got 0']
 */
export const modelLimitProblems = (limits: unknown): ReadonlyArray<{ readonly key: string; readonly field: string; readonly message: string }> => {
  if (typeof limits !== "object" || limits === null || Array.isArray(limits)) {
    return [{ key: "", field: "", message: `limits must be an object of limits by "provider:model", got ${JSON.stringify(limits) ?? typeof limits}` }]
  }
  const problems: Array<{ key: string; field: string; message: string }> = []
  for (const [key, limit] of Object.entries(limits)) {
    if (typeof limit !== "object" || limit === null || Array.isArray(limit)) {
      problems.push({ key, field: "", message: `limits "${key}" must be an object ({ inFlight, requestsPerMinute, tokensPerMinute })` })
      continue
    }
    for (const [field, value] of Object.entries(limit)) {
      if (!(fields as readonly string[]).includes(field)) {
        problems.push({ key, field, message: `limits "${key}" has no field "${field}" (it takes ${fields.join(", ")})` })
      } else if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
        problems.push({ key, field, message: `limits "${key}": ${field} must be a positive number, got ${JSON.stringify(value) ?? String(value)}` })
      }
    }
  }
  return problems
}

/** Throws a {@link ModelLimitError} for the first problem of `limits`. */
export const checkModelLimits = (limits: unknown): ModelLimits => {
  const [problem] = modelLimitProblems(limits)
  if (problem !== undefined) throw new ModelLimitError(problem.key, problem.field, problem.message)
  return limits as ModelLimits
}

let processLimits: ModelLimits = {}

/**
 * Limits for every run in this process that does not set its own for a model (run option
 * `limits`, then the worker's, then these). Replaces the previous process limits; throws a
 * {@link ModelLimitError} for a limit of 0, a negative one or an unknown field.
 *
 * @example
 * setModelLimits({ "openai:gpt-4.1-mini": { inFlight: 8, requestsPerMinute: 500, tokensPerMinute: 200_000 } })
 */
export const setModelLimits = (limits: ModelLimits): void => {
  processLimits = { ...checkModelLimits(limits) }
}

const limiters = new Map<string, ModelLimiter>()

/**
 * The process's queue for `key` under `limit`: the same limits for the same model share one queue,
 * whichever run, worker or branch asks.
 *
 * @example
 * const limiter = modelLimiter("openai:gpt-4.1-mini", { inFlight: 8 })
 */
export const modelLimiter = (key: string, limit: ModelLimit): ModelLimiter => {
  const identity = `${key}\u0000${canonicalJson(limit)}`
  let limiter = limiters.get(identity)
  if (limiter === undefined) limiters.set(identity, (limiter = new ModelLimiter(key, limit)))
  return limiter
}

/**
 * The queue a call of `key` waits in: the run's limit for it, else the worker's, else the
 * process's (`setModelLimits`); `undefined` when none limits it.
 *
 * @example
 * const limiter = limiterFor("openai:gpt-4.1-mini", runOptions.limits)
 */
export const limiterFor = (key: string, runLimits: ModelLimits | undefined): ModelLimiter | undefined => {
  const limit = runLimits?.[key] ?? processLimits[key]
  return limit === undefined ? undefined : modelLimiter(key, limit)
}

/**
 * A rough token count of a request for a tokens-per-minute budget (about 4 characters a token,
 * plus the answer's limit); the answer's usage corrects it.
 *
 * @example
 * estimateRequestTokens({ messages: [{ role: "user", content: "Hello there" }] }) // 11
 */
export const estimateRequestTokens = (request: {
  readonly messages: readonly unknown[]
  readonly tools?: readonly unknown[]
  readonly maxOutputTokens?: number
}): number =>
  Math.ceil((JSON.stringify(request.messages).length + (request.tools === undefined ? 0 : JSON.stringify(request.tools).length)) / 4) +
  (request.maxOutputTokens ?? 0)

/**
 * One model call's passage through its model's queue: wait for a slot, then say how the call
 * ended. Without limits for the model every step is a no-op.
 *
 * @example
 * const passage = modelPassage(services.limits, model, request)
 * await passage.wait(signal)
 * passage.answered(response.usage)
 */
export interface ModelPassage {
  /** Waits for a slot; rejects with the signal's reason when it aborts first. */
  wait(signal: AbortSignal): Promise<void>
  /** How long the call waited (so far, when it never got a slot); 0 without limits. */
  queuedMs(): number
  /** The call failed: a rate-limited answer pauses the queue for everyone, then the slot is given back. */
  failed(error: unknown): void
  /** The call answered: the slot is given back with the tokens it used. */
  answered(usage: Usage | undefined): void
}

// Without `retry-after`, a 429 still holds the queue back this long.
const defaultPauseMs = 1_000

/** The passage of one call of `model` through the limits that apply to it (see {@link ModelPassage}). */
export const modelPassage = (
  limits: ModelLimits | undefined,
  model: { readonly provider: string; readonly model: string },
  request: ModelRequest,
): ModelPassage => {
  const limiter = limiterFor(`${model.provider}:${model.model}`, limits)
  let slot: ModelSlot | undefined
  let waitingSince: number | undefined
  return {
    wait: async (signal) => {
      if (limiter === undefined) return
      waitingSince = Date.now()
      slot = await limiter.acquire(limiter.limit.tokensPerMinute === undefined ? 0 : estimateRequestTokens(request), signal)
    },
    queuedMs: () => slot?.queuedMs ?? (waitingSince === undefined ? 0 : Date.now() - waitingSince),
    failed: (error) => {
      // Paused before the slot is given back, so no waiter slips in between.
      if (limiter !== undefined && error instanceof ModelError && error.reason === "rate-limited") limiter.pause(error.retryAfterMs ?? defaultPauseMs)
      slot?.release()
    },
    answered: (usage) => slot?.release(usage === undefined ? undefined : usage.inputTokens + usage.outputTokens),
  }
}
