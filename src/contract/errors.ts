import * as Data from "effect/Data"
import { type ErrorEvidence, evidenceOf, linkOf, messageOf, newBudget, read, stripUndefined } from "./error-evidence.ts"

export type { ErrorCause, ErrorEvidence } from "./error-evidence.ts"
export { messageOf } from "./error-evidence.ts"

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

const retryableReasons: ReadonlySet<ModelErrorReason> = new Set(["rate-limited", "timeout", "server", "overloaded", "network", "invalid-output"])

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
  | {
      /**
       * The run's journal refused a write or did not answer in time: the run stopped before any
       * more user code, and stays resumable from its last durable event. `reason`: the store
       * failed (`write-failed`, its `code` says why, e.g. `ENOSPC`, `SQLITE_FULL`), another
       * process wrote the run's next event (`conflict`), this process lost its claim on the run
       * (`claim-lost`), or the store did not settle within the run's `journalTimeout` (`timeout`).
       */
      readonly _tag: "JournalError"
      readonly reason: JournalErrorReason
      /** The store, as it names itself (`sqlite /var/lib/app/runs.db`, `postgres`, `memory`). */
      readonly store: string
      /** The step that was writing, when a step was. */
      readonly step?: string
      /** The store's error code (`ENOSPC`, `SQLITE_FULL`, `57P01`), when it gave one. */
      readonly code?: string
      readonly message: string
    }
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
 * Why a run's journal stopped it (see the `JournalError` member of {@link RunError}).
 *
 * @example
 * const anotherProcess = (reason: JournalErrorReason) => reason === "conflict" || reason === "claim-lost"
 */
export type JournalErrorReason = "write-failed" | "conflict" | "claim-lost" | "timeout"

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
 * The error of a route that chose a target its edge does not declare.
 *
 * @example
 * undeclaredTarget("classify", "answr", ["answer", "review"]) // RouteError: route of "classify" returned "answr"; declared targets: answer, review
 */
export const undeclaredTarget = (step: string, target: unknown, targets: readonly string[]): RunError => ({
  _tag: "RouteError",
  step,
  target: String(target),
  message: `route of "${step}" returned "${String(target)}"; declared targets: ${targets.join(", ")}`,
})

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

const runErrorTags: ReadonlySet<string> = new Set([
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
  "JournalError",
] satisfies readonly RunError["_tag"][])

const isRunError = (value: unknown): value is RunError => typeof value === "object" && value !== null && runErrorTags.has(String(read(value, "_tag") ?? ""))

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
