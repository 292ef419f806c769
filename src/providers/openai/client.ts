import type * as OpenAISdk from "openai"
import type { GenerateOptions } from "../../contract/model.ts"
import { withStreamTimeouts } from "../shared.ts"
import { type ErrorContext, failure, toModelError } from "./errors.ts"

type Sdk = typeof OpenAISdk
type Client = InstanceType<Sdk["OpenAI"]>

/** How to reach a server, resolved at call time so environment variables set later still count. */
export interface Connection {
  readonly provider: string
  readonly model: string
  /** The key to send, or a `ModelError` message naming what to set when there is none. */
  readonly apiKey: () => string | { readonly missing: string }
  readonly baseURL: () => string | undefined
  /** `null` keeps the SDK from reading `OPENAI_ORG_ID` / `OPENAI_PROJECT_ID` (compatible servers). */
  readonly organization?: string | null | undefined
  readonly project?: null | undefined
  readonly defaultHeaders?: Readonly<Record<string, string>> | undefined
  readonly timeoutMs?: number | undefined
}

let loading: Promise<Sdk> | undefined

// Loaded on the first call only, so `import "switchboard"` never pays for the SDK.
const loadSdk = (): Promise<Sdk> => {
  loading ??= import("openai").catch((error: unknown) => {
    loading = undefined
    throw error
  })
  return loading
}

/** One live call: the client, the signal to pass to the SDK, and how to map errors. */
export interface Call {
  readonly sdk: Sdk
  readonly client: Client
  readonly signal: AbortSignal
  readonly context: ErrorContext
  /** Wraps an SDK stream (opened by `open`, so the wait for headers counts) in the first-token and idle timeouts. */
  stream<T>(open: () => Promise<AsyncIterable<T>>): AsyncIterable<T>
}

/**
 * Creates the per-model call runner: caches one SDK client per key and base URL, links the
 * caller's signal to our own controller (stream timeouts abort the request through it), and turns
 * every failure into a `ModelError`, except an abort by the caller, which rejects with the
 * signal's reason.
 */
export const connect = (connection: Connection) => {
  let cached: { readonly key: string; readonly client: Client } | undefined
  const clientFor = (sdk: Sdk, apiKey: string): Client => {
    const baseURL = connection.baseURL()
    const key = `${apiKey}\n${baseURL ?? ""}`
    if (cached?.key !== key) {
      const client = new sdk.OpenAI({
        apiKey,
        // Never picked up from OPENAI_ADMIN_KEY: model calls need only the key above.
        adminAPIKey: null,
        ...(baseURL === undefined ? {} : { baseURL }),
        ...(connection.organization === undefined ? {} : { organization: connection.organization }),
        ...(connection.project === undefined ? {} : { project: connection.project }),
        ...(connection.defaultHeaders === undefined ? {} : { defaultHeaders: connection.defaultHeaders }),
        ...(connection.timeoutMs === undefined ? {} : { timeout: connection.timeoutMs }),
        // Our step policy owns retries.
        maxRetries: 0,
      })
      cached = { key, client }
    }
    return cached.client
  }

  return async <T>(options: GenerateOptions, run: (call: Call) => Promise<T>): Promise<T> => {
    const { signal } = options
    const apiKey = connection.apiKey()
    const context: ErrorContext = {
      provider: connection.provider,
      model: connection.model,
      secrets: typeof apiKey === "string" ? [apiKey] : [],
    }
    if (signal.aborted) throw signal.reason
    if (typeof apiKey !== "string") throw failure(context, "authentication", apiKey.missing)
    let sdk: Sdk | undefined
    const controller = new AbortController()
    const abort = () => controller.abort(signal.reason)
    signal.addEventListener("abort", abort, { once: true })
    try {
      try {
        sdk = await loadSdk()
      } catch (error) {
        throw failure(context, "invalid-request", `the "openai" package could not be loaded; install it (npm install openai): ${String(error)}`)
      }
      const client = clientFor(sdk, apiKey)
      return await run({
        sdk,
        client,
        signal: controller.signal,
        context,
        stream: (open) =>
          withStreamTimeouts(opened(open), {
            firstTokenTimeoutMs: options.firstTokenTimeoutMs,
            idleTimeoutMs: options.idleTimeoutMs,
            onTimeout: (kind, ms) => {
              const error = failure(
                context,
                "timeout",
                kind === "first-token" ? `no stream data within ${ms}ms (first-token timeout)` : `the stream stalled for ${ms}ms (idle timeout)`,
              )
              controller.abort(error)
              return error
            },
          }),
      })
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw toModelError(error, context, sdk)
    } finally {
      signal.removeEventListener("abort", abort)
    }
  }
}

async function* opened<T>(open: () => Promise<AsyncIterable<T>>): AsyncGenerator<T> {
  yield* await open()
}
