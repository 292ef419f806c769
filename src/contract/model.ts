/**
 * A tool call a model asked for. `arguments` is the parsed JSON object the model sent (or the raw
 * text when it was not valid JSON: the tool's schema check then reports it).
 *
 * @example
 * const call: ToolCall = { id: "call_1", name: "lookupOrder", arguments: { orderId: "A-1" } }
 */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: unknown
}

/**
 * One message of a conversation with a model. Assistant messages may carry tool calls; `tool`
 * messages carry one tool's result back, by call id.
 *
 * @example
 * const message: Message = { role: "user", content: "Classify this ticket" }
 */
export type Message =
  | { readonly role: "system" | "user"; readonly content: string }
  | { readonly role: "assistant"; readonly content: string; readonly toolCalls?: readonly ToolCall[] }
  | { readonly role: "tool"; readonly toolCallId: string; readonly name: string; readonly content: string; readonly isError?: boolean }

/**
 * A tool offered to the model, provider-neutral: JSON Schema for its arguments (from zod).
 *
 * @example
 * const definition: ToolDefinition = { name: "add", description: "Adds", inputSchema: { type: "object", properties: {} } }
 */
export interface ToolDefinition {
  readonly name: string
  readonly description?: string
  readonly inputSchema: Record<string, unknown>
}

/**
 * What a step asks of a model. `output` is present when the step wants a structured object:
 * providers pass the JSON Schema to their structured-output feature; switchboard validates the
 * answer with the step's zod schema either way.
 *
 * @example
 * const request: ModelRequest = { messages: [{ role: "user", content: "2+2?" }] }
 */
export interface ModelRequest {
  readonly messages: readonly Message[]
  readonly output?: { readonly name: string; readonly jsonSchema: Record<string, unknown> }
  readonly tools?: readonly ToolDefinition[]
  /** `auto` (default when tools are given), `required`, `none`, or one tool by name. */
  readonly toolChoice?: "auto" | "required" | "none" | { readonly name: string }
  readonly temperature?: number
  readonly maxOutputTokens?: number
}

/**
 * Token counts of one model call.
 *
 * @example
 * const usage: Usage = { inputTokens: 120, outputTokens: 14 }
 */
export interface Usage {
  readonly inputTokens: number
  readonly outputTokens: number
  /** Input tokens served from the provider's prompt cache (included in `inputTokens`). */
  readonly cachedInputTokens?: number
}

/**
 * A model's answer: the text, tool calls if any, and the usage when the provider reports it.
 *
 * @example
 * const response: ModelResponse = { text: '{"kind":"bug"}', usage: { inputTokens: 10, outputTokens: 5 } }
 */
export interface ModelResponse {
  readonly text: string
  readonly toolCalls?: readonly ToolCall[]
  readonly usage?: Usage
  /** Normalised: `stop`, `length`, `tool-calls`, `content-filter`, or the provider's own word. */
  readonly finishReason?: string
}

/**
 * Per-call options. The signal is aborted when the step is left (timeout, cancellation,
 * another transition); a model must stop its request when it fires. With `onDelta`, a model that
 * can stream does so and reports text as it arrives; the response is still the whole answer.
 *
 * @example
 * const options: GenerateOptions = { signal: AbortSignal.timeout(1000), onDelta: (text) => process.stdout.write(text) }
 */
export interface GenerateOptions {
  readonly signal: AbortSignal
  readonly onDelta?: (text: string) => void
  /** Streaming only: fail with a `timeout` ModelError when no token arrives within this many ms. */
  readonly firstTokenTimeoutMs?: number
  /** Streaming only: fail with a `timeout` ModelError when the stream stalls this long between chunks. */
  readonly idleTimeoutMs?: number
  /**
   * Prompt caching: `false` sends no cache marks; a hint says where and under which key. Without
   * one, Anthropic marks the system prompt, tools and conversation; OpenAI sends no key.
   */
  readonly promptCache?: PromptCacheHint | false
}

/**
 * Where a provider may mark the request for its prompt cache. Anthropic caches up to a
 * breakpoint (`cache_control`): `system` marks the system prompt, `tools` the tool list,
 * `conversation` the end of the messages (an agent's turn reuses the prefix of the turn before).
 *
 * @example
 * const hint: PromptCacheHint = { key: "triage:classify", breakpoints: ["system", "tools"] }
 */
export interface PromptCacheHint {
  /** Groups requests that share a prefix (OpenAI `prompt_cache_key`). */
  readonly key?: string
  /** Anthropic: which parts end a cached prefix (default all three; at most 4 breakpoints are sent). */
  readonly breakpoints?: ReadonlyArray<"system" | "tools" | "conversation">
}

/**
 * The provider-neutral model interface every provider (and the scripted test model) implements.
 * `generate` rejects with a `ModelError` for every failure it can classify.
 *
 * @example
 * const echo: Model = {
 *   provider: "echo",
 *   model: "echo-1",
 *   generate: async (request) => ({ text: String(request.messages.at(-1)?.content ?? "") }),
 * }
 */
export interface Model {
  readonly provider: string
  readonly model: string
  generate(request: ModelRequest, options: GenerateOptions): Promise<ModelResponse>
}

/**
 * Models by alias (`"fast"`, `"smart"`): pipelines name aliases, run options supply the models.
 *
 * @example
 * const models: Models = { fast: scriptedModel(["hello"]) }
 */
export type Models = Readonly<Record<string, Model>>
