import * as Data from "effect/Data"
import { redactSecrets } from "./redaction.ts"

/**
 * Why a model call failed. Closed set: `switch` on it exhaustively.
 *
 * @example
 * const wait = (reason: ModelErrorReason) => reason === "rate-limited" || reason === "overloaded"
 */
export type ModelErrorReason =
  | "rate-limited"
  | "timeout"
  | "authentication"
  | "invalid-request"
  | "content-filter"
  | "context-too-long"
  | "server"
  | "overloaded"
  | "network"
  | "invalid-output"
  | "unknown"

const retryableReasons: ReadonlySet<ModelErrorReason> = new Set([
  "rate-limited",
  "timeout",
  "server",
  "overloaded",
  "network",
  "invalid-output",
])

/**
 * Whether a model error of this reason is worth another attempt by default.
 *
 * @example
 * isRetryableReason("rate-limited") // true
 */
export const isRetryableReason = (reason: ModelErrorReason): boolean => retryableReasons.has(reason)

/**
 * One error type for every provider: what went wrong, whether to retry, and how long to wait.
 *
 * @example
 * new ModelError({ provider: "openai", model: "gpt-5-mini", reason: "rate-limited", retryable: true, retryAfterMs: 2000, message: "429" })
 */
export class ModelError extends Data.TaggedError("ModelError")<{
  readonly provider: string
  readonly model: string
  readonly reason: ModelErrorReason
  readonly retryable: boolean
  readonly message: string
  readonly status?: number
  /** Milliseconds the provider asked us to wait (from `retry-after` / `retry-after-ms`). */
  readonly retryAfterMs?: number
  /** `invalid-output` only: what the output schema rejected, and the model's answer (truncated). */
  readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }>
  readonly rawText?: string
  /** The error this one was made from (an SDK's error, say): kept in the RunError as `cause`. */
  readonly cause?: unknown
}> {}

/**
 * A tool call failed: bad arguments, bad output, or the tool itself threw.
 *
 * @example
 * new ToolError({ tool: "lookupOrder", reason: "invalid-arguments", retryable: false, message: "orderId: expected string" })
 */
export class ToolError extends Data.TaggedError("ToolError")<{
  readonly tool: string
  readonly reason: "invalid-arguments" | "invalid-output" | "failed"
  readonly retryable: boolean
  readonly message: string
  /** The error this one was made from: kept in the RunError as `cause`. */
  readonly cause?: unknown
}> {}

/**
 * A step (or one attempt of it) took longer than its policy allows.
 *
 * @example
 * new StepTimeoutError({ step: "classify", scope: "attempt", ms: 30_000, retryable: true, message: "attempt timed out after 30000ms" })
 */
export class StepTimeoutError extends Data.TaggedError("StepTimeoutError")<{
  readonly step: string
  readonly scope: "attempt" | "step"
  readonly ms: number
  readonly retryable: boolean
  readonly message: string
}> {}

/**
 * User code in a `fn` step, prompt or route threw or failed.
 *
 * @example
 * new StepCodeError({ step: "total", retryable: false, message: "Cannot read properties of undefined" })
 */
export class StepCodeError extends Data.TaggedError("StepCodeError")<{
  readonly step: string
  readonly retryable: boolean
  readonly message: string
  /** The error this one was made from: kept in the RunError as `cause`. */
  readonly cause?: unknown
}> {}

/**
 * A step's configuration cannot be satisfied at run time (e.g. a model alias with no model).
 *
 * @example
 * new ConfigurationError({ step: "classify", retryable: false, message: 'no model for alias "fast"' })
 */
export class ConfigurationError extends Data.TaggedError("ConfigurationError")<{
  readonly step: string
  readonly retryable: boolean
  readonly message: string
  /** The error this one was made from: kept in the RunError as `cause`. */
  readonly cause?: unknown
}> {}

/** Errors a step program can fail with; the retry policy reads `retryable` and `retryAfterMs`. */
export type StepError = ModelError | ToolError | StepTimeoutError | StepCodeError | ConfigurationError

/**
 * What a {@link RunError} keeps of the JavaScript error behind it, so that a failure can be traced
 * to its line: the thrown error's `name`, `stack`, `cause` chain and own fields. Plain JSON, cut to
 * size, with secrets masked (API keys, authorization values, and fields named like `apiKey`,
 * `authorization`, `password` or `token`); the run's `redact` keys are applied too wherever the
 * error is journaled or returned.
 *
 * @example
 * const firstFrame = (error: RunError) => error.stack?.split("\n")[1]?.trim()
 */
export interface ErrorEvidence {
  /** The thrown error's `name` (`"TypeError"`, `"UpstreamError"`, …); absent when it is the `_tag`. */
  readonly name?: string
  /** The thrown error's `stack` (its first 4,000 characters). */
  readonly stack?: string
  /** The thrown error's `cause`, whose own `cause` follows, and so on: at most 5 links. */
  readonly cause?: ErrorCause
  /**
   * The thrown error's own enumerable fields but `name`, `message`, `stack` and `cause` (`status`,
   * `code`, `headers`, …) as JSON. Kept apart, so a `status` or `reason` of the thrown error is
   * never read as the typed field of that name. Values that are not JSON become strings
   * (functions, symbols, bigints, class instances, nested errors as `"name: message"`); a circular
   * reference becomes `"[circular]"`; long strings, deep objects and long lists are cut.
   */
  readonly fields?: Readonly<Record<string, unknown>>
}

/**
 * One link of a {@link RunError}'s `cause` chain: what that error said, and its own evidence.
 *
 * @example
 * const causes = (error: RunError): string[] => {
 *   const messages: string[] = []
 *   for (let link = error.cause; link !== undefined; link = link.cause) messages.push(link.message)
 *   return messages
 * }
 */
export interface ErrorCause extends ErrorEvidence {
  readonly message: string
}

/**
 * A failure as it is stored in the machine context, the journal and `RunResult`: plain JSON,
 * discriminated by `_tag`, with the step it happened in. Every member also carries the
 * {@link ErrorEvidence} of the error behind it (`name`, `stack`, `cause`, `fields`) when there was one.
 *
 * @example
 * const explain = (error: RunError) => (error._tag === "ModelError" ? error.reason : `${error.name ?? error._tag}: ${error.message}`)
 */
export type RunError = ErrorEvidence & TypedRunError

/** Each kind of RunError with its typed fields; {@link RunError} adds the evidence to every one. */
type TypedRunError =
  | {
      readonly _tag: "ModelError"
      readonly step: string
      readonly provider: string
      readonly model: string
      readonly reason: ModelErrorReason
      readonly retryable: boolean
      readonly message: string
      readonly status?: number
      readonly retryAfterMs?: number
      readonly issues?: ReadonlyArray<{ readonly path: string; readonly message: string }>
      readonly rawText?: string
    }
  | {
      readonly _tag: "ToolError"
      readonly step: string
      readonly tool: string
      readonly reason: "invalid-arguments" | "invalid-output" | "failed"
      readonly retryable: boolean
      readonly message: string
    }
  | {
      readonly _tag: "StepTimeoutError"
      readonly step: string
      readonly scope: "attempt" | "step"
      readonly ms: number
      readonly retryable: boolean
      readonly message: string
    }
  | { readonly _tag: "StepCodeError" | "ConfigurationError"; readonly step: string; readonly retryable: boolean; readonly message: string }
  | { readonly _tag: "HumanTimeoutError"; readonly step: string; readonly ms: number; readonly message: string }
  | {
      readonly _tag: "InputValidationError"
      readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
      readonly message: string
    }
  | { readonly _tag: "CancelledError"; readonly step?: string; readonly message: string }
  | { readonly _tag: "RouteError"; readonly step: string; readonly target: string; readonly message: string }
  /** The run's thread could not be loaded or saved (see `threadId` in the run options). */
  | { readonly _tag: "ThreadError"; readonly threadId: string; readonly message: string }
  | {
      /** A parallel, map or nested-pipeline step could not produce its output (see `reason`). */
      readonly _tag: "FanoutError"
      readonly step: string
      readonly reason: FanoutErrorReason
      readonly message: string
      /** `too-few-succeeded`: the errors of the items that failed. */
      readonly errors?: readonly RunError[]
    }

/**
 * Why a fan-out step failed: its item list differs from the one its journal recorded
 * (`items-changed`), is longer than `maxItems` (`too-many-items`) or is not an array
 * (`invalid-items`); fewer items succeeded than `atLeast(k)` asks (`too-few-succeeded`); or a
 * nested pipeline ended `stopped` (`child-stopped`).
 *
 * @example
 * const resumable = (reason: FanoutErrorReason) => reason !== "items-changed"
 */
export type FanoutErrorReason = "items-changed" | "too-many-items" | "invalid-items" | "too-few-succeeded" | "child-stopped"

// A typed error made from a value user code threw stands for that value: its RunError keeps the
// thrown value's name, stack, cause and fields, not those of the wrapper made here.
const thrownValues = new WeakMap<object, unknown>()

/**
 * Returns `error`, marked as the typed form of `thrown`: {@link serializeStepError} gives it the
 * name, stack, cause chain and fields of `thrown` (the wrapper's own stack names no line of yours).
 *
 * @example
 * const failed = (thrown: unknown) => withEvidenceOf(new ToolError({ tool: "lookupOrder", reason: "failed", retryable: false, message: messageOf(thrown) }), thrown)
 */
export const withEvidenceOf = <TError extends StepError>(error: TError, thrown: unknown): TError => {
  thrownValues.set(error, thrownValueOf(thrown))
  return error
}

const thrownValueOf = (value: unknown): unknown => (typeof value === "object" && value !== null && thrownValues.has(value) ? thrownValues.get(value) : value)

// A timeout may arrive as its JSON form (from a nested run or an engine): still the policy's own.
const isStepError = (error: unknown): error is StepError => {
  try {
    return (
      error instanceof ModelError ||
      error instanceof ToolError ||
      error instanceof StepCodeError ||
      error instanceof ConfigurationError ||
      (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "StepTimeoutError")
    )
  } catch {
    // A revoked proxy cannot even be asked for its prototype.
    return false
  }
}

/**
 * Whatever step code threw, as a typed error for the step's Effect program: a `StepError` as it
 * is, anything else a `StepCodeError` that keeps the thrown value's evidence.
 *
 * @example
 * const attempt = Effect.try({ try: () => JSON.parse(text), catch: (thrown) => toStepError("parse", thrown) })
 */
export const toStepError = (step: string, thrown: unknown): StepError =>
  isStepError(thrown) ? thrown : withEvidenceOf(new StepCodeError({ step, retryable: false, message: messageOf(thrown) }), thrown)

/**
 * What a step's prompt, route or join threw, as a `StepCodeError` that says where (`route of
 * "classify" threw: …`) and keeps the thrown value's name, stack, cause and fields.
 *
 * @example
 * const next = Effect.try({ try: () => select(output), catch: (thrown) => thrownIn("classify", "route", thrown) })
 */
export const thrownIn = (step: string, where: "prompt" | "route" | "join", thrown: unknown): StepCodeError =>
  withEvidenceOf(new StepCodeError({ step, retryable: false, message: `${where} of "${step}" threw: ${messageOf(thrown)}` }), thrown)

/**
 * Turns anything a step failed with into its JSON form for the machine, the journal and the run
 * result: the one place where an unknown error becomes a {@link RunError}. A typed error keeps its
 * fields; anything else thrown becomes a `StepCodeError`; either way the {@link ErrorEvidence} of
 * the thrown error is kept (name, stack, cause chain, own fields), cut to size and secrets masked.
 *
 * @example
 * serializeStepError("total", new TypeError("x is undefined")) // { _tag: "StepCodeError", step: "total", name: "TypeError", stack: "TypeError: x is undefined\n    at …", … }
 */
export const serializeStepError = (step: string, error: unknown): RunError => {
  if (isStepError(error)) return { ...typedFieldsOf(step, error), ...typedEvidenceOf(error) } as RunError
  if (isRunError(error)) return error
  return { _tag: "StepCodeError", step, retryable: false, message: messageOf(error), ...evidenceOf(error, "StepCodeError") }
}

const typedFieldsOf = (step: string, error: StepError): RunError => {
  switch (error._tag) {
    case "ModelError":
      return stripUndefined({
        _tag: "ModelError",
        step,
        provider: error.provider,
        model: error.model,
        reason: error.reason,
        retryable: error.retryable,
        message: error.message,
        status: error.status,
        retryAfterMs: error.retryAfterMs,
        issues: error.issues,
        rawText: error.rawText,
      }) as RunError
    case "ToolError":
      return { _tag: "ToolError", step, tool: error.tool, reason: error.reason, retryable: error.retryable, message: error.message }
    case "StepTimeoutError":
      return { _tag: "StepTimeoutError", step, scope: error.scope, ms: error.ms, retryable: error.retryable, message: error.message }
    case "ConfigurationError":
      return { _tag: "ConfigurationError", step, retryable: false, message: error.message }
    case "StepCodeError":
      return { _tag: "StepCodeError", step, retryable: error.retryable, message: error.message }
  }
}

const typedEvidenceOf = (error: StepError): ErrorEvidence => {
  if (thrownValues.has(error)) return evidenceOf(thrownValues.get(error), error._tag)
  // Only the step policy makes these: the stack would name none of the user's lines.
  if (error._tag === "StepTimeoutError") return {}
  // A typed error's fields are the RunError's own: only its stack and cause are evidence.
  const { stack, cause } = linkOf(error, 0, newBudget(), new Set())
  return stripUndefined({ stack, cause }) as ErrorEvidence
}

/**
 * The {@link ErrorEvidence} of any thrown value: its name (unless it is `tag`), stack, cause chain
 * and own fields. Never throws, whatever the value (a revoked proxy, a throwing getter, a cycle).
 */
const evidenceOf = (thrown: unknown, tag: string): ErrorEvidence => {
  const { message: _message, name, ...evidence } = linkOf(thrown, 0, newBudget(), new Set())
  return name === undefined || name === tag ? evidence : { name, ...evidence }
}

// Bounds on what one error keeps, so a thrown response object or a cyclic graph cannot bloat
// every journal entry that carries the error.
const limits = {
  causeLinks: 5,
  stackCharacters: 4_000,
  messageCharacters: 2_000,
  stringCharacters: 1_000,
  depth: 4,
  entries: 30,
  fieldCharacters: 16_000,
} as const

type Budget = { left: number }
const newBudget = (): Budget => ({ left: limits.fieldCharacters })

// Fields whose values are credentials by name, whatever they look like.
const secretName =
  /^(authorization|proxyauthorization|cookie|setcookie|xapikey|apikey|password|passwd|secret|clientsecret|token|accesstoken|refreshtoken|idtoken|sessiontoken|privatekey)$/
const isSecretName = (key: string): boolean => secretName.test(key.toLowerCase().replace(/[-_]/g, ""))
const redactedMarker = "[redacted]"

const evidenceKeys = new Set(["name", "message", "stack", "cause"])

const linkOf = (value: unknown, depth: number, budget: Budget, seen: Set<object>): ErrorCause => {
  const message = cut(redactSecrets(messageOf(value)), limits.messageCharacters)
  if (typeof value !== "object" || value === null) return { message }
  seen.add(value)
  const name = read(value, "name")
  const stack = read(value, "stack")
  const cause = read(value, "cause")
  const fields = fieldsOf(value, budget, seen)
  const next =
    cause === undefined || depth >= limits.causeLinks || (typeof cause === "object" && cause !== null && seen.has(cause))
      ? undefined
      : linkOf(cause, depth + 1, budget, seen)
  return stripUndefined({
    name: typeof name === "string" ? cut(name, limits.stringCharacters) : undefined,
    message,
    stack: typeof stack === "string" ? cut(redactSecrets(stack), limits.stackCharacters) : undefined,
    cause: next,
    fields,
  }) as ErrorCause
}

// Own enumerable fields, without the ones that are the evidence itself; typed errors have none
// (their fields are the RunError's own).
const fieldsOf = (value: object, budget: Budget, seen: Set<object>): Record<string, unknown> | undefined => {
  if (isStepError(value)) return undefined
  let keys: string[]
  try {
    keys = Object.keys(value).filter((key) => !evidenceKeys.has(key))
  } catch {
    return undefined
  }
  // An AggregateError's `errors` is not enumerable, and it is what says why.
  const errors = value instanceof AggregateError ? read(value, "errors") : undefined
  if (keys.length === 0 && errors === undefined) return undefined
  const fields = objectOf(pairsOf(value, keys), 0, budget, seen)
  return errors === undefined ? fields : { ...fields, errors: jsonOf(errors, 1, budget, seen) }
}

type Pair = readonly [string, unknown]
const pairsOf = (object: object, keys: readonly string[]): Pair[] => keys.map((key) => [key, read(object, key)])

const objectOf = (entries: readonly Pair[], depth: number, budget: Budget, seen: Set<object>): Record<string, unknown> => {
  const object: Record<string, unknown> = {}
  let kept = 0
  for (const [key, field] of entries) {
    if (field === undefined) continue
    if (kept === limits.entries || budget.left <= 0) {
      object["…"] = `${entries.length - kept} more fields`
      break
    }
    budget.left -= key.length
    object[key] = isSecretName(key) ? redactedMarker : jsonOf(field, depth + 1, budget, seen)
    kept += 1
  }
  return object
}

// A JSON copy of a field value, within the budget.
const jsonOf = (value: unknown, depth: number, budget: Budget, seen: Set<object>): unknown => {
  switch (typeof value) {
    case "string": {
      const text = cut(redactSecrets(value), limits.stringCharacters)
      budget.left -= text.length
      return text
    }
    case "number":
      budget.left -= 8
      return Number.isFinite(value) ? value : String(value)
    case "boolean":
      budget.left -= 5
      return value
    case "undefined":
      return null
    case "bigint":
      return `${value}n`
    case "symbol":
      return value.toString()
    case "function":
      return `[function ${value.name || "anonymous"}]`
  }
  if (value === null) return null
  const object = value as object
  if (seen.has(object)) return "[circular]"
  if (depth > limits.depth || budget.left <= 0) return "[cut]"
  seen.add(object)
  try {
    if (object instanceof Error) return cut(redactSecrets(`${object.name}: ${object.message}`), limits.stringCharacters)
    if (Array.isArray(object)) return listOf(object, depth, budget, seen)
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} of ${object.byteLength} bytes]`
    if (object instanceof Map) return objectOf([...object].map(([key, field]): Pair => [String(key), field]), depth, budget, seen)
    if (object instanceof Set) return listOf([...object], depth, budget, seen)
    if (typeof Headers !== "undefined" && object instanceof Headers) return objectOf([...object], depth, budget, seen)
    const toJSON = (object as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return jsonOf(toJSON.call(object), depth, budget, seen)
    const prototype = Object.getPrototypeOf(object)
    if (prototype === Object.prototype || prototype === null) return objectOf(pairsOf(object, Object.keys(object)), depth, budget, seen)
    // A class instance (a socket, a response, a client): its description, not its insides.
    return cut(redactSecrets(describe(object)), limits.stringCharacters)
  } catch {
    return "[unreadable]"
  } finally {
    seen.delete(object)
  }
}

const listOf = (list: readonly unknown[], depth: number, budget: Budget, seen: Set<object>): unknown[] => {
  const kept = list.slice(0, limits.entries).map((item) => jsonOf(item, depth + 1, budget, seen))
  return list.length > limits.entries ? [...kept, `… ${list.length - limits.entries} more items`] : kept
}

const describe = (object: object): string => {
  const text = String(object)
  return text === "[object Object]" ? `[${(object.constructor as { name?: string } | undefined)?.name ?? "object"}]` : text
}

// A property read that a getter or a proxy cannot make throw.
const read = (object: object, key: string): unknown => {
  try {
    return (object as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

const cut = (text: string, length: number): string => (text.length > length ? `${text.slice(0, length)}… (${text.length - length} more characters)` : text)

const runErrorTags = new Set([
  "ModelError",
  "ToolError",
  "StepTimeoutError",
  "StepCodeError",
  "ConfigurationError",
  "HumanTimeoutError",
  "InputValidationError",
  "CancelledError",
  "RouteError",
  "ThreadError",
  "FanoutError",
])

const isRunError = (value: unknown): value is RunError => typeof value === "object" && value !== null && runErrorTags.has(String(read(value, "_tag") ?? ""))

/**
 * Best-effort human message of anything thrown; never throws.
 *
 * @example
 * messageOf(new Error("boom")) // "boom"; messageOf({ code: 7 }) // '{"code":7}'
 */
export const messageOf = (error: unknown): string => {
  try {
    if (error instanceof Error) return error.message
    if (typeof error === "string") return error
    const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined
    if (typeof message === "string") return message
    return JSON.stringify(error) ?? String(error)
  } catch {
    try {
      return String(error)
    } catch {
      return `(an unprintable ${typeof error} was thrown)`
    }
  }
}

const stripUndefined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T

/**
 * Thrown when a pipeline is built with a mistake in its graph (unknown edge target, a step
 * without an edge, an unreachable step, a loop without a stop rule). Names every step involved.
 *
 * @example
 * try { build() } catch (error) { if (error instanceof PipelineDefinitionError) console.error(error.problems) }
 */
export class PipelineDefinitionError extends Error {
  override readonly name = "PipelineDefinitionError"
  readonly pipeline: string
  readonly problems: ReadonlyArray<{ readonly steps: readonly string[]; readonly message: string }>
  constructor(pipeline: string, problems: ReadonlyArray<{ readonly steps: readonly string[]; readonly message: string }>) {
    super(`pipeline "${pipeline}" is invalid:\n${problems.map((problem) => `  - ${problem.message}`).join("\n")}`)
    this.pipeline = pipeline
    this.problems = problems
  }
}
