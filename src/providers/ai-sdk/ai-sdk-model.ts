// Any provider of the Vercel AI SDK as a switchboard `Model`: the LanguageModel specification (v4,
// `@ai-sdk/provider`) is the contract; `@ai-sdk/openai-compatible`, `@ai-sdk/google`,
// `@ai-sdk/amazon-bedrock`, `@ai-sdk/mistral` … implement it. Only its types are imported here.

import type {
  LanguageModelV4,
  LanguageModelV4Content,
  LanguageModelV4FinishReason,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
  SharedV4ProviderOptions,
} from "@ai-sdk/provider"
import type { GenerateOptions, Model, ModelRequest, ModelResponse, ToolCall, Usage } from "../../contract/model.ts"
import { modelError, withStreamTimeouts } from "../shared.ts"
import { type ErrorContext, toModelError } from "./errors.ts"
import { callOptionsOf } from "./prompt.ts"

/**
 * The part of an AI SDK `LanguageModel` (specification v4) the adapter relies on, written out here
 * so that switchboard's published types never name `@ai-sdk/provider`: a project without that
 * optional peer still type-checks with `skipLibCheck: false`. Every provider package's model fits.
 *
 * @example
 * const model: AiSdkLanguageModel = createOpenAICompatible({ name: "local", baseURL }).chatModel("llama3.2")
 */
export interface AiSdkLanguageModel {
  readonly specificationVersion: "v4"
  readonly provider: string
  readonly modelId: string
  // Method syntax: a provider's own (narrower) call options are accepted.
  doGenerate(options: never): PromiseLike<unknown>
  doStream(options: never): PromiseLike<unknown>
}

/**
 * Options of {@link aiSdkModel}.
 *
 * @example
 * const options: AiSdkModelOptions = { provider: "google", providerOptions: { google: { thinkingConfig: { thinkingBudget: 0 } } } }
 */
export interface AiSdkModelOptions {
  /** The provider name in journals, prices and errors (default: the model's `provider` up to its first dot). */
  readonly provider?: string
  /** Passed on every call, by provider name: the provider package documents its own keys. */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  /** Extra HTTP headers for every call. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * Adapts a `LanguageModel` of any AI SDK provider package to switchboard's `Model`: text, tool
 * calls, structured output (the request's JSON Schema as the response format), streaming with
 * `onDelta`, usage with cached input tokens, and each failure as a `ModelError` reason (an HTTP
 * 429 with `retry-after` is `rate-limited` with its wait). `@ai-sdk/provider` and the provider
 * package are yours to install; switchboard imports neither at run time.
 *
 * @example
 * import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
 * const local = createOpenAICompatible({ name: "ollama", baseURL: "http://127.0.0.1:11434/v1" })
 * await triage.run(input, { models: { fast: aiSdkModel(local.chatModel("llama3.2")) } })
 */
export const aiSdkModel = (model: AiSdkLanguageModel, options: AiSdkModelOptions = {}): Model => {
  const languageModel = model as unknown as LanguageModelV4
  const provider = options.provider ?? languageModel.provider.split(".")[0] ?? languageModel.provider
  const context: ErrorContext = { provider, model: languageModel.modelId }
  if ((languageModel as { specificationVersion?: unknown }).specificationVersion !== "v4") {
    throw new TypeError(
      `aiSdkModel(${languageModel.provider}:${languageModel.modelId}): expected a LanguageModel of specification v4 (AI SDK 7 provider packages), got ${JSON.stringify((languageModel as { specificationVersion?: unknown }).specificationVersion)}`,
    )
  }
  const headers = options.headers === undefined ? {} : { headers: { ...options.headers } }
  const extra = { ...headers, ...(options.providerOptions === undefined ? {} : { providerOptions: options.providerOptions as SharedV4ProviderOptions }) }
  return {
    provider,
    model: languageModel.modelId,
    async generate(request: ModelRequest, callOptions: GenerateOptions): Promise<ModelResponse> {
      const { signal } = callOptions
      // Our own controller, so a stream timeout can stop the request as well as the caller.
      const controller = new AbortController()
      const stop = () => controller.abort(signal.reason)
      signal.addEventListener("abort", stop, { once: true })
      try {
        const call = callOptionsOf(request, { signal: controller.signal, ...extra })
        if (callOptions.onDelta === undefined) {
          const result = await languageModel.doGenerate(call)
          return responseOf(result.content, result.finishReason, result.usage, request.output === undefined ? undefined : result.structuredOutputText)
        }
        const { stream } = await languageModel.doStream(call)
        return await readStream(stream, callOptions, controller, context)
      } catch (error) {
        if (signal.aborted) throw signal.reason
        throw toModelError(error, context)
      } finally {
        signal.removeEventListener("abort", stop)
      }
    },
  }
}

const readStream = async (
  stream: ReadableStream<LanguageModelV4StreamPart>,
  { onDelta, firstTokenTimeoutMs, idleTimeoutMs }: GenerateOptions,
  controller: AbortController,
  context: ErrorContext,
): Promise<ModelResponse> => {
  const content: LanguageModelV4Content[] = []
  let text = ""
  let finishReason: LanguageModelV4FinishReason | undefined
  let usage: LanguageModelV4Usage | undefined
  const parts = withStreamTimeouts(stream as unknown as AsyncIterable<LanguageModelV4StreamPart>, {
    firstTokenTimeoutMs,
    idleTimeoutMs,
    onTimeout: (kind, ms) => {
      const error = modelError(
        context.provider,
        context.model,
        "timeout",
        `${context.provider} (${context.model}): ${kind === "first-token" ? `no stream data within ${ms}ms (first-token timeout)` : `the stream stalled for ${ms}ms (idle timeout)`}`,
      )
      controller.abort(error)
      return error
    },
  })
  for await (const part of parts) {
    switch (part.type) {
      case "text-delta":
        text += part.delta
        onDelta?.(part.delta)
        break
      case "tool-call":
        content.push(part)
        break
      case "finish":
        finishReason = part.finishReason
        usage = part.usage
        break
      case "error":
        throw toModelError(part.error, context)
      default:
        break
    }
  }
  return responseOf([{ type: "text", text }, ...content], finishReason, usage, undefined)
}

const responseOf = (
  content: readonly LanguageModelV4Content[],
  finishReason: LanguageModelV4FinishReason | undefined,
  usage: LanguageModelV4Usage | undefined,
  structuredOutputText: string | undefined,
): ModelResponse => {
  const text = content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("")
  // Tools the provider ran itself (a hosted search, say) are not ours to run.
  const toolCalls = content.flatMap((part): ToolCall[] =>
    part.type === "tool-call" && part.providerExecuted !== true ? [{ id: part.toolCallId, name: part.toolName, arguments: argumentsOf(part.input) }] : [],
  )
  const counted = usage === undefined ? undefined : usageOf(usage)
  return {
    text: structuredOutputText ?? text,
    ...(toolCalls.length === 0 ? {} : { toolCalls }),
    ...(counted === undefined ? {} : { usage: counted }),
    ...(finishReason === undefined ? {} : { finishReason: finishReason.unified === "other" ? (finishReason.raw ?? "other") : finishReason.unified }),
  }
}

// Arguments that are not JSON stay text: the tool's schema check then tells the model.
const argumentsOf = (input: string): unknown => {
  try {
    return JSON.parse(input === "" ? "{}" : input)
  } catch {
    return input
  }
}

const usageOf = (usage: LanguageModelV4Usage): Usage | undefined => {
  if (usage.inputTokens.total === undefined && usage.outputTokens.total === undefined) return undefined
  return {
    inputTokens: usage.inputTokens.total ?? 0,
    outputTokens: usage.outputTokens.total ?? 0,
    ...(usage.inputTokens.cacheRead === undefined ? {} : { cachedInputTokens: usage.inputTokens.cacheRead }),
  }
}
