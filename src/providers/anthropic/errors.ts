// Maps whatever @anthropic-ai/sdk throws to one ModelError. The SDK module is never imported here:
// errors are recognised by the SDK's class names (`error.name`), so this file costs nothing to load.
import { ModelError, type ModelErrorReason, messageOf } from "../../contract/errors.ts"
import { isNetworkFailure, modelError, reasonForStatus, retryAfterMs } from "../shared.ts"

/**
 * Who the error is about: the provider and model named in the ModelError.
 *
 * @example
 * const subject: ErrorSubject = { provider: "anthropic", model: "claude-sonnet-5" }
 */
export interface ErrorSubject {
  readonly provider: string
  readonly model: string
}

interface SdkError {
  readonly name?: unknown
  readonly message?: unknown
  readonly status?: unknown
  readonly headers?: { get(name: string): string | null }
  /** The SDK's `type`: `error.type` of the body, e.g. `overloaded_error`. */
  readonly type?: unknown
  readonly apiMessage?: unknown
  readonly error?: unknown
}

// Anthropic's documented error types; the body's type is more precise than the HTTP status
// (a mid-stream `error` event has a type and no status at all).
const reasonForType: Readonly<Record<string, ModelErrorReason>> = {
  rate_limit_error: "rate-limited",
  overloaded_error: "overloaded",
  authentication_error: "authentication",
  permission_error: "authentication",
  // An account that cannot pay cannot be retried into working: it needs a person, like a bad key.
  billing_error: "authentication",
  request_too_large: "context-too-long",
  not_found_error: "invalid-request",
  invalid_request_error: "invalid-request",
  api_error: "server",
  timeout_error: "timeout",
}

const contextTooLong = /prompt is too long|exceeds? (the )?context (window|limit)|context window|too many (input )?tokens/i

/**
 * Classifies an error from the Anthropic SDK (or from reading its response) as a ModelError.
 * Aborts by the caller are not handled here: the provider rejects with the signal's reason.
 *
 * @example
 * toModelError(new TypeError("terminated"), { provider: "anthropic", model: "claude-sonnet-5" }).reason // "network"
 */
export const toModelError = (error: unknown, subject: ErrorSubject): ModelError => {
  if (error instanceof ModelError) return error
  const sdkError = (typeof error === "object" && error !== null ? error : {}) as SdkError
  const name = typeof sdkError.name === "string" ? sdkError.name : ""
  const fail = (reason: ModelErrorReason, message: string, extra: { status?: number; retryAfterMs?: number; retryable?: boolean } = {}) =>
    modelError(subject.provider, subject.model, reason, message, extra)

  if (name === "APIConnectionTimeoutError") return fail("timeout", "Anthropic request timed out before the response started")
  if (name === "APIConnectionError" || isNetworkFailure(error)) return fail("network", `Anthropic connection failed: ${causeMessage(error)}`)
  if (name === "APIUserAbortError") return fail("unknown", "Anthropic request was aborted", { retryable: false })

  const status = typeof sdkError.status === "number" ? sdkError.status : undefined
  const type = errorType(sdkError)
  if (status !== undefined || type !== undefined || name === "APIError") {
    const detail = apiMessage(sdkError)
    let reason: ModelErrorReason =
      // 503 and 529 mean "busy, come back": overloaded whatever the body says.
      status === 503 || status === 529
        ? "overloaded"
        : type !== undefined && reasonForType[type] !== undefined
          ? reasonForType[type]
          : status !== undefined
            ? reasonForStatus(status)
            : "unknown"
    if (reason === "invalid-request" && contextTooLong.test(detail)) reason = "context-too-long"
    const wait = retryAfterMs(sdkError.headers)
    const label = [status === undefined ? "stream error" : String(status), type].filter((part) => part !== undefined).join(" ")
    return fail(reason, `Anthropic API ${label}: ${detail}`, {
      ...(status === undefined ? {} : { status }),
      ...(wait === undefined ? {} : { retryAfterMs: wait }),
    })
  }
  // A 200 whose body is cut or garbled (JSON or SSE): the provider's fault, and a retry usually gets a whole body.
  if (error instanceof SyntaxError) return fail("server", `Anthropic sent a response that is not valid JSON: ${error.message}`)
  // The SDK's own checks before sending (e.g. "streaming is required" for a large max_tokens): retrying cannot help.
  if (name === "AnthropicError") return fail("invalid-request", `Anthropic SDK refused the request: ${messageOf(error)}`)
  return fail("unknown", `Anthropic call failed: ${messageOf(error)}`, { retryable: false })
}

const errorType = (error: SdkError): string | undefined => {
  if (typeof error.type === "string") return error.type
  const body = error.error as { error?: { type?: unknown } } | undefined
  return typeof body?.error?.type === "string" ? body.error.type : undefined
}

const apiMessage = (error: SdkError): string => {
  if (typeof error.apiMessage === "string") return error.apiMessage
  const body = error.error as { error?: { message?: unknown } } | undefined
  if (typeof body?.error?.message === "string") return body.error.message
  return typeof error.message === "string" ? error.message : "no message"
}

const causeMessage = (error: unknown): string => {
  const cause = (error as { cause?: unknown } | undefined)?.cause
  const outer = messageOf(error)
  return cause === undefined ? outer : `${outer} (${messageOf(cause)})`
}
