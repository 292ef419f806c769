import type Anthropic from "@anthropic-ai/sdk"
import type { GenerateOptions, Model, ModelRequest, ModelResponse } from "../../contract/model.ts"
import { keyMasking, modelError, withStreamTimeouts } from "../shared.ts"
import { type ErrorSubject, toModelError } from "./errors.ts"
import { type MessagesBody, type OutputTool, toMessagesBody } from "./request.ts"
import { blocksOfMessage, toModelResponse } from "./response.ts"
import { readStream, type StreamEvent } from "./stream.ts"

/**
 * Options of {@link anthropic}. The key falls back to `ANTHROPIC_API_KEY` (read at call time) and
 * the base URL to `ANTHROPIC_BASE_URL`, then `https://api.anthropic.com` (no `/v1`).
 *
 * @example
 * const options: AnthropicOptions = { model: "claude-sonnet-5", maxOutputTokens: 1024, timeoutMs: 60_000 }
 */
export interface AnthropicOptions {
  readonly model: string
  readonly apiKey?: string
  readonly baseURL?: string
  /** `max_tokens` when the request sets none (the Messages API requires one). Default 4096. */
  readonly maxOutputTokens?: number
  /** The SDK's timeout: how long to wait for the response to start. */
  readonly timeoutMs?: number
  readonly defaultHeaders?: Readonly<Record<string, string>>
}

type AnthropicModule = typeof import("@anthropic-ai/sdk")

let sdk: Promise<AnthropicModule> | undefined
// Loaded on the first call, so that importing switchboard never loads the SDK.
const loadSdk = (): Promise<AnthropicModule> =>
  (sdk ??= import("@anthropic-ai/sdk").catch((error: unknown) => {
    sdk = undefined
    throw error
  }))

/**
 * Creates a Claude model over the Messages API, through the official `@anthropic-ai/sdk` (an optional peer
 * dependency, loaded on the first call) with its own retries off: the step policy retries.
 *
 * - System messages go to the top-level `system` parameter; tool results go back as `tool_result`
 *   blocks, all results of one turn in one user message.
 * - Streams when `onDelta` is given (text deltas in order; first-token and idle timeouts apply).
 * - Structured output uses a forced tool rather than a model-specific JSON mode: a tool named after
 *   the output, its `input_schema` the JSON Schema, `tool_choice: { type: "tool" }`. Tool use works
 *   the same on every Claude model version, so this stays portable; the tool's input comes back as
 *   JSON text in `text`, and the finish reason is `stop`. When the request also offers tools, the
 *   answer tool is added to them and `tool_choice` becomes `any`: the model either calls one of
 *   your tools (returned as `toolCalls`, `text` empty) or answers through the answer tool.
 * - Prompt caching: unless `promptCache` is `false`, the request carries `cache_control`
 *   breakpoints on the system prompt, the tool list and the end of the conversation (and where the
 *   turn before ended), at most 4. Cache reads cost a tenth of an input token, writes 1.25×; a
 *   prefix shorter than the model's minimum (1,024 or 2,048 tokens) is not cached and costs nothing extra.
 * - Thinking blocks are left out of `text`. A refusal rejects with `content-filter`.
 * - Errors reject as `ModelError` (see `errors.ts`); an abort through `options.signal` closes the
 *   request and rejects with the signal's reason, as `fetch` does.
 *
 * @example
 * const smart = anthropic({ model: "claude-sonnet-5" }) // key from ANTHROPIC_API_KEY
 * const response = await smart.generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: AbortSignal.timeout(30_000) })
 * // in a pipeline: await triage.run(input, { models: { smart } })
 */
export const anthropic = (options: AnthropicOptions): Model => {
  const subject: ErrorSubject = { provider: "anthropic", model: options.model }
  let cached: { readonly apiKey: string; readonly client: Anthropic } | undefined

  const clientFor = async (apiKey: string): Promise<Anthropic> => {
    if (cached?.apiKey === apiKey) return cached.client
    let module: AnthropicModule
    try {
      module = await loadSdk()
    } catch (error) {
      throw modelError(subject.provider, subject.model, "invalid-request", `cannot load @anthropic-ai/sdk (npm install @anthropic-ai/sdk): ${String(error)}`)
    }
    const client = new module.default({
      apiKey,
      maxRetries: 0,
      ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      ...(options.defaultHeaders === undefined ? {} : { defaultHeaders: { ...options.defaultHeaders } }),
      // Failures reach the caller as ModelErrors; the SDK's console logging stays off unless asked for.
      ...(environment("ANTHROPIC_LOG") === undefined ? { logLevel: "off" as const } : {}),
    })
    cached = { apiKey, client }
    return client
  }

  const generate = async (request: ModelRequest, generateOptions: GenerateOptions): Promise<ModelResponse> => {
    const { signal } = generateOptions
    signal.throwIfAborted()
    const apiKey = options.apiKey ?? environment("ANTHROPIC_API_KEY")
    if (apiKey === undefined || apiKey === "") {
      throw modelError(subject.provider, subject.model, "authentication", "no Anthropic API key: set ANTHROPIC_API_KEY or pass anthropic({ apiKey })")
    }
    // `redactSecrets` knows keys shaped `sk-…`; a gateway's key of any other shape, echoed in a 401
    // body or an answer, is masked by value before anything is journaled, shown or returned.
    const masking = keyMasking([apiKey])
    const client = await clientFor(apiKey)
    const { body, outputTool } = toMessagesBody(
      request,
      { model: options.model, maxOutputTokens: options.maxOutputTokens ?? 4096 },
      generateOptions.promptCache,
    )
    // Our own controller, so a stream timeout can close the request as well as the caller's signal.
    const controller = new AbortController()
    const forwardAbort = () => controller.abort(signal.reason)
    signal.addEventListener("abort", forwardAbort, { once: true })
    try {
      if (generateOptions.onDelta === undefined) {
        const message = await client.messages.create(body, { signal: controller.signal })
        return masking.response(
          toModelResponse({ blocks: blocksOfMessage(message.content), stopReason: message.stop_reason, usage: message.usage }, outputTool, subject),
        )
      }
      return masking.response(await streamAnswer(client, body, outputTool, generateOptions, controller, masking.text))
    } catch (error) {
      // However the SDK reports an abort (an error, or a stream that just ends), the caller gets its reason.
      signal.throwIfAborted()
      throw masking.error(toModelError(error, subject))
    } finally {
      signal.removeEventListener("abort", forwardAbort)
    }
  }

  const streamAnswer = async (
    client: Anthropic,
    body: MessagesBody,
    outputTool: OutputTool | undefined,
    generateOptions: GenerateOptions,
    controller: AbortController,
    mask: (text: string) => string,
  ): Promise<ModelResponse> => {
    // The wait for response headers is inside the iteration, so the first-token timeout covers a slow first byte.
    async function* events(): AsyncGenerator<StreamEvent> {
      yield* await client.messages.create({ ...body, stream: true }, { signal: controller.signal })
    }
    const timed = withStreamTimeouts(events(), {
      firstTokenTimeoutMs: generateOptions.firstTokenTimeoutMs,
      idleTimeoutMs: generateOptions.idleTimeoutMs,
      onTimeout: (kind, ms) => {
        const error = modelError(
          subject.provider,
          subject.model,
          "timeout",
          `Anthropic stream: ${kind === "first-token" ? "no first chunk" : "no chunk"} within ${ms}ms`,
        )
        controller.abort(error)
        return error
      },
    })
    const delta = generateOptions.onDelta ?? (() => {})
    const onDelta = (text: string) => delta(mask(text))
    const answer = await readStream(timed, { onText: onDelta, streamTool: outputTool?.wrapped === false ? outputTool.name : undefined })
    generateOptions.signal.throwIfAborted()
    if (!answer.complete) throw modelError(subject.provider, subject.model, "network", "Anthropic stream ended before message_stop")
    return toModelResponse(answer, outputTool, subject)
  }

  return { provider: subject.provider, model: options.model, generate }
}

const environment = (name: string): string | undefined => (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name]
