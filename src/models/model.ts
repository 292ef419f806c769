/**
 * One message of a conversation with a model.
 *
 * @example
 * const message: Message = { role: "user", content: "Classify this ticket" }
 */
export interface Message {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
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
}

/**
 * A model's answer: the text, and the usage when the provider reports it.
 *
 * @example
 * const response: ModelResponse = { text: '{"kind":"bug"}', usage: { inputTokens: 10, outputTokens: 5 } }
 */
export interface ModelResponse {
  readonly text: string
  readonly usage?: Usage
  readonly finishReason?: string
}

/**
 * Per-call options. The signal is aborted when the step is left (timeout, cancellation,
 * another transition); a model must stop its request when it fires.
 *
 * @example
 * const options: GenerateOptions = { signal: AbortSignal.timeout(1000) }
 */
export interface GenerateOptions {
  readonly signal: AbortSignal
}

/**
 * The provider-neutral model interface every provider (and the scripted test model) implements.
 * `generate` rejects with a `ModelError` for every failure it can classify.
 *
 * @example
 * const echo: Model = {
 *   provider: "echo",
 *   model: "echo-1",
 *   generate: async (request) => ({ text: request.messages.at(-1)?.content ?? "" }),
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
