import { isRetryableReason, ModelError, type ModelErrorReason } from "../contract/errors.ts"
import { redactSecrets } from "../contract/redaction.ts"

/**
 * Reads how long a provider asked us to wait: `retry-after-ms` (milliseconds), else `retry-after`
 * (seconds, or an HTTP date). Undefined when absent or unreadable.
 *
 * @example
 * retryAfterMs(new Headers({ "retry-after": "2" })) // 2000
 */
export const retryAfterMs = (headers: { get(name: string): string | null } | undefined, now = Date.now()): number | undefined => {
  if (headers === undefined) return undefined
  const milliseconds = Number.parseFloat(headers.get("retry-after-ms") ?? "")
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.round(milliseconds)
  const value = headers.get("retry-after")
  if (value === null || value.trim() === "") return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The reason a plain HTTP status maps to, before any provider-specific body is read. */
export const reasonForStatus = (status: number): ModelErrorReason => {
  if (status === 401 || status === 403) return "authentication"
  if (status === 408) return "timeout"
  if (status === 413) return "context-too-long"
  if (status === 429) return "rate-limited"
  if (status === 529 || status === 503) return "overloaded"
  if (status >= 500) return "server"
  if (status >= 400) return "invalid-request"
  return "unknown"
}

/**
 * Whether an error is a connection that broke (reset, refused, cut mid-body). The SDKs surface a
 * cut mid-stream as a bare `TypeError: terminated`, so the cause chain is read too.
 */
export const isNetworkFailure = (error: unknown): boolean => {
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const { message, code, name } = current as { message?: unknown; code?: unknown; name?: unknown }
    if (typeof code === "string" && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_SOCKET|UND_ERR_CLOSED)$/.test(code)) return true
    if (name === "SocketError") return true
    if (typeof message === "string" && /^(terminated|other side closed|fetch failed)$/i.test(message)) return true
    current = (current as { cause?: unknown }).cause
  }
  return false
}

/**
 * Masks the provider's own key by value in text, whatever its shape: `redactSecrets` knows keys
 * shaped `sk-…` only, and a gateway or a compatible server may use (and echo back) any other.
 * Values shorter than 8 characters are left alone (a placeholder such as `none` is no secret).
 *
 * @example
 * maskKeys("invalid x-api-key gw-0123456789", ["gw-0123456789"]) // "invalid x-api-key ***"
 */
export const maskKeys = (text: string, keys: readonly string[]): string =>
  keys.reduce((masked, key) => (key.length >= 8 && masked.includes(key) ? masked.replaceAll(key, "***") : masked), text)

/**
 * What a provider hands back, with its own key masked by value: in an error's message and raw
 * text (a 401 body that echoes the key), in a response's text and in streamed text. Everything a
 * run journals, shows or returns of a model call goes through one of these.
 *
 * @example
 * const masking = keyMasking(["gw-0123456789"])
 * masking.text("echo gw-0123456789") // "echo ***"
 */
export const keyMasking = (keys: readonly string[]) => {
  const live = keys.filter((key) => key.length >= 8)
  const text = (value: string): string => (live.length === 0 ? value : maskKeys(value, live))
  return {
    text,
    /** The same error when it holds no key, else a copy with the key masked. */
    error: (error: ModelError): ModelError => {
      const rawText = error.rawText === undefined ? undefined : text(error.rawText)
      if (text(error.message) === error.message && rawText === error.rawText) return error
      return new ModelError({
        provider: error.provider,
        model: error.model,
        reason: error.reason,
        retryable: error.retryable,
        message: text(error.message),
        ...(error.status === undefined ? {} : { status: error.status }),
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
        ...(error.issues === undefined ? {} : { issues: error.issues.map((issue) => ({ path: issue.path, message: text(issue.message) })) }),
        ...(rawText === undefined ? {} : { rawText }),
      })
    },
    response: <T extends { readonly text: string }>(response: T): T => {
      const masked = text(response.text)
      return masked === response.text ? response : { ...response, text: masked }
    },
  }
}

/** Builds a ModelError with the default retryability of its reason. */
export const modelError = (
  provider: string,
  model: string,
  reason: ModelErrorReason,
  message: string,
  extra: { readonly status?: number; readonly retryAfterMs?: number; readonly retryable?: boolean } = {},
): ModelError =>
  new ModelError({
    provider,
    model,
    reason,
    message: redactSecrets(message),
    retryable: extra.retryable ?? isRetryableReason(reason),
    ...(extra.status === undefined ? {} : { status: extra.status }),
    ...(extra.retryAfterMs === undefined ? {} : { retryAfterMs: extra.retryAfterMs }),
  })

/**
 * Wraps a stream so that a missing first chunk or a stall between chunks becomes a `timeout`
 * ModelError (the SDKs' own timeout covers only the wait for response headers), and aborts the
 * request through `abort` when that happens.
 */
export async function* withStreamTimeouts<T>(
  stream: AsyncIterable<T>,
  options: {
    readonly firstTokenTimeoutMs?: number | undefined
    readonly idleTimeoutMs?: number | undefined
    readonly onTimeout: (kind: "first-token" | "idle", ms: number) => Error
  },
): AsyncGenerator<T> {
  const iterator = stream[Symbol.asyncIterator]()
  let first = true
  try {
    while (true) {
      const limit = first ? options.firstTokenTimeoutMs : options.idleTimeoutMs
      let timer: ReturnType<typeof setTimeout> | undefined
      const next = iterator.next()
      // If the timer wins, this read may still reject later (we abort it): never unhandled.
      next.catch(() => {})
      const result =
        limit === undefined
          ? await next
          : await Promise.race([
              next,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(options.onTimeout(first ? "first-token" : "idle", limit)), limit)
              }),
            ]).finally(() => clearTimeout(timer))
      if (result.done === true) return
      first = false
      yield result.value
    }
  } finally {
    // Close the SDK stream (and its socket) whether we finished, failed or timed out.
    void Promise.resolve(iterator.return?.()).catch(() => {})
  }
}
