// What an AI SDK provider throws, as one `ModelError` reason. The errors are recognised by name
// (`AI_APICallError`, …), as the AI SDK's own `isInstance` checks a marker: no runtime import of
// `@ai-sdk/provider` is needed.

import { type ModelError, type ModelErrorReason, messageOf } from "../../contract/errors.ts"
import { isNetworkFailure, modelError, reasonForStatus, retryAfterMs } from "../shared.ts"

/** Who made the failing call. */
export interface ErrorContext {
  readonly provider: string
  readonly model: string
}

interface ApiCallError {
  readonly name: string
  readonly message: string
  readonly statusCode?: number
  readonly responseHeaders?: Record<string, string>
  readonly responseBody?: string
  readonly isRetryable?: boolean
}

const contextTooLong = /maximum context length|context length exceeded|context window|too many tokens|prompt is too long/i
const contentFilter = /content[ _-]?(filter|policy)|safety/i

// Errors the provider raises before or after a call, by the AI SDK's names.
const reasonsByName: Readonly<Record<string, ModelErrorReason>> = {
  AI_LoadAPIKeyError: "authentication",
  AI_LoadSettingError: "invalid-request",
  AI_InvalidPromptError: "invalid-request",
  AI_InvalidArgumentError: "invalid-request",
  AI_UnsupportedFunctionalityError: "invalid-request",
  AI_NoSuchModelError: "invalid-request",
  // The server answered something the provider could not read: a fresh request usually succeeds.
  AI_JSONParseError: "server",
  AI_TypeValidationError: "server",
  AI_InvalidResponseDataError: "server",
  AI_EmptyResponseBodyError: "server",
  AI_NoContentGeneratedError: "server",
  TimeoutError: "timeout",
}

const failure = (
  context: ErrorContext,
  reason: ModelErrorReason,
  message: string,
  extra: { status?: number; retryAfterMs?: number; retryable?: boolean } = {},
) => modelError(context.provider, context.model, reason, `${context.provider} (${context.model}): ${message}`, extra)

/**
 * Maps anything a LanguageModel's `doGenerate`/`doStream` throws (or a stream's `error` part) to a
 * `ModelError`. Callers handle their own aborts first.
 */
export const toModelError = (error: unknown, context: ErrorContext): ModelError => {
  if ((error as { _tag?: unknown } | null)?._tag === "ModelError") return error as ModelError
  const name = (error as { name?: unknown } | null)?.name
  if (name === "AI_APICallError") return apiCallFailure(error as ApiCallError, context)
  if (typeof name === "string" && reasonsByName[name] !== undefined) return failure(context, reasonsByName[name], messageOf(error))
  if (isNetworkFailure(error)) return failure(context, "network", `the connection broke (${messageOf(error)})`)
  // A stream's error part may carry a provider's error body: `{ error: { message, code } }`.
  const body = (error as { error?: { message?: unknown; code?: unknown } } | null)?.error
  if (typeof body?.message === "string") return failure(context, "unknown", body.message)
  return failure(context, "unknown", messageOf(error))
}

const apiCallFailure = (error: ApiCallError, context: ErrorContext): ModelError => {
  const status = error.statusCode
  const wait = retryAfterMs(error.responseHeaders === undefined ? undefined : new Headers(error.responseHeaders))
  const said = `${error.message}${error.responseBody === undefined || error.message.includes(error.responseBody) ? "" : ` (${error.responseBody.slice(0, 500)})`}`
  const extra = { ...(status === undefined ? {} : { status }), ...(wait === undefined ? {} : { retryAfterMs: wait }) }
  if (status === undefined) return failure(context, isNetworkFailure(error) ? "network" : "unknown", said, extra)
  if ((status === 400 || status === 413) && contextTooLong.test(said)) return failure(context, "context-too-long", said, extra)
  if (status === 400 && contentFilter.test(said)) return failure(context, "content-filter", said, extra)
  return failure(context, reasonForStatus(status), said, extra)
}
