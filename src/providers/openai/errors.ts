import type * as OpenAISdk from "openai"
import { type ModelError, type ModelErrorReason, messageOf } from "../../contract/errors.ts"
import { isNetworkFailure, maskKeys, modelError, reasonForStatus, retryAfterMs } from "../shared.ts"

/** Who made the failing call, and values that must never reach a message (the API key). */
export interface ErrorContext {
  readonly provider: string
  readonly model: string
  readonly secrets: readonly string[]
}

interface Details {
  readonly status?: number | undefined
  readonly code?: unknown
  readonly headers?: { get(name: string): string | null } | undefined
}

// A code in the error body outranks the HTTP status: OpenAI sends billing problems as 429 and
// context overflows and content-policy rejections as plain 400s.
const reasonsByCode: Readonly<Record<string, { readonly reason: ModelErrorReason; readonly retryable?: boolean }>> = {
  context_length_exceeded: { reason: "context-too-long" },
  string_above_max_length: { reason: "context-too-long" },
  // Retrying cannot fix an account without credit: like a bad key, someone must fix the account.
  insufficient_quota: { reason: "authentication", retryable: false },
  billing_hard_limit_reached: { reason: "authentication", retryable: false },
  invalid_api_key: { reason: "authentication" },
  content_filter: { reason: "content-filter" },
  content_policy_violation: { reason: "content-filter" },
  rate_limit_exceeded: { reason: "rate-limited" },
  server_error: { reason: "server" },
  internal_error: { reason: "server" },
  server_overloaded: { reason: "overloaded" },
  overloaded: { reason: "overloaded" },
  vector_store_timeout: { reason: "timeout" },
}

// OpenAI-compatible servers (vLLM, llama.cpp, Ollama) report a context overflow only in words.
const contextTooLong = /maximum context length|context length exceeded|context window|too many tokens|prompt is too long/i

/**
 * Maps anything the `openai` SDK (or our stream handling) throws to a `ModelError`. Callers handle
 * their own aborts first: a call aborted through its signal rejects with the signal's reason.
 */
export const toModelError = (error: unknown, context: ErrorContext, sdk: typeof OpenAISdk | undefined): ModelError => {
  if ((error as { _tag?: unknown } | null)?._tag === "ModelError") return error as ModelError
  if (sdk !== undefined && error instanceof sdk.APIError) {
    if (error instanceof sdk.APIConnectionTimeoutError) return failure(context, "timeout", "no response before the client timeout (timeoutMs)")
    if (error instanceof sdk.APIUserAbortError) return failure(context, "unknown", "the request was aborted")
    if (error instanceof sdk.APIConnectionError) return failure(context, "network", connectionMessage(error))
    const code = typeof error.code === "string" ? error.code : (error.error as { code?: unknown } | undefined)?.code
    return classify(context, error.message, { status: error.status, code, headers: error.headers })
  }
  if (error instanceof SyntaxError) {
    // The server broke the protocol (truncated or non-JSON body): not the model's answer, so not
    // `invalid-output`; a fresh request usually succeeds.
    return failure(context, "server", `the response is not valid JSON (${error.message})`)
  }
  if (isNetworkFailure(error)) return failure(context, "network", `the connection broke (${messageOf(error)})`)
  return failure(context, "unknown", messageOf(error))
}

/** Maps an error object found inside a response (`response.failed`, a stream's `error` event). */
export const bodyError = (context: ErrorContext, body: { readonly code?: unknown; readonly message?: unknown } | null | undefined): ModelError =>
  classify(context, typeof body?.message === "string" ? body.message : "the response failed", { code: body?.code })

/** A `ModelError` for a problem found in a response the SDK accepted, with the reason's default retryability. */
export const failure = (
  context: ErrorContext,
  reason: ModelErrorReason,
  message: string,
  extra: { readonly status?: number; readonly retryAfterMs?: number; readonly retryable?: boolean } = {},
): ModelError => modelError(context.provider, context.model, reason, maskKeys(`${context.provider} (${context.model}): ${message}`, context.secrets), extra)

const classify = (context: ErrorContext, message: string, details: Details): ModelError => {
  // Some compatible servers (OpenRouter) put an HTTP status in `code` of a mid-stream error.
  const status = details.status ?? (typeof details.code === "number" ? details.code : undefined)
  const wait = retryAfterMs(details.headers)
  const extra = { ...(status === undefined ? {} : { status }), ...(wait === undefined ? {} : { retryAfterMs: wait }) }
  const known = typeof details.code === "string" ? reasonsByCode[details.code] : undefined
  if (known !== undefined)
    return failure(context, known.reason, message, { ...extra, ...(known.retryable === undefined ? {} : { retryable: known.retryable }) })
  if ((status === 400 || status === 413) && contextTooLong.test(message)) return failure(context, "context-too-long", message, extra)
  // No status and an unknown code: an error event inside a 200 stream that we cannot judge.
  return failure(context, status === undefined ? "unknown" : reasonForStatus(status), message, extra)
}

const connectionMessage = (error: Error): string => {
  const cause = (error as { cause?: unknown }).cause
  return cause === undefined ? error.message : `${error.message} (${messageOf(cause)})`
}
