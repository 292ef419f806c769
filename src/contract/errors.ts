import * as Data from "effect/Data"

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
}> {}

/** Errors a step program can fail with; the retry policy reads `retryable` and `retryAfterMs`. */
export type StepError = ModelError | ToolError | StepTimeoutError | StepCodeError | ConfigurationError

/**
 * A failure as it is stored in the machine context, the journal and `RunResult`: plain JSON,
 * discriminated by `_tag`, with the step it happened in.
 *
 * @example
 * const explain = (error: RunError) => (error._tag === "ModelError" ? error.reason : error.message)
 */
export type RunError =
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

/** Turns a step error into its JSON form for the journal and the run result. */
export const serializeStepError = (step: string, error: unknown): RunError => {
  if (error instanceof ModelError) {
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
  }
  if (error instanceof ToolError) {
    return { _tag: "ToolError", step, tool: error.tool, reason: error.reason, retryable: error.retryable, message: error.message }
  }
  if (error instanceof StepTimeoutError) {
    return { _tag: "StepTimeoutError", step, scope: error.scope, ms: error.ms, retryable: error.retryable, message: error.message }
  }
  if (error instanceof ConfigurationError) {
    return { _tag: "ConfigurationError", step, retryable: false, message: error.message }
  }
  if (error instanceof StepCodeError) {
    return { _tag: "StepCodeError", step, retryable: error.retryable, message: error.message }
  }
  if (isRunError(error)) return error
  return { _tag: "StepCodeError", step, retryable: false, message: messageOf(error) }
}

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

const isRunError = (value: unknown): value is RunError =>
  typeof value === "object" && value !== null && runErrorTags.has((value as { _tag?: string })._tag ?? "")

/** Best-effort human message of anything thrown. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error) ?? String(error)

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
