import type { Model } from "../../contract/model.ts"
import { chatModel } from "./generate.ts"

/**
 * Options of {@link openaiCompatible}.
 *
 * @example
 * const options: OpenAICompatibleOptions = { baseURL: "http://127.0.0.1:11434/v1", model: "llama3.2", structuredOutput: "json_object" }
 */
export interface OpenAICompatibleOptions {
  /** The server's OpenAI-style root, usually ending in `/v1`. */
  readonly baseURL: string
  readonly model: string
  /**
   * Sent as a bearer token. Without one a placeholder is sent (the SDK requires a key; local
   * servers ignore it). `OPENAI_API_KEY` is never read here: it would leak to a third party.
   */
  readonly apiKey?: string
  /** The provider name in errors and events (default `openai-compatible`). */
  readonly provider?: string
  /**
   * How structured output is asked for: `json_schema` (default; `response_format` with the schema,
   * no `strict` flag), `json_object` (JSON mode, the schema in the system message), or `none`
   * (the schema in the system message only). zod validates the answer in every case.
   */
  readonly structuredOutput?: "json_schema" | "json_object" | "none"
  readonly defaultHeaders?: Readonly<Record<string, string>>
  /** How long to wait for response headers. */
  readonly timeoutMs?: number
}

/** What goes out as the key when none is given. */
export const placeholderApiKey = "switchboard-no-key"

/**
 * A model on any server that speaks OpenAI Chat Completions (Ollama, vLLM, llama.cpp server,
 * OpenRouter, Groq…), through the `openai` SDK. Limits go out as `max_tokens`, which these servers
 * know; usage comes from `stream_options.include_usage` when the server supports it.
 *
 * @example
 * const local = openaiCompatible({ baseURL: "http://127.0.0.1:11434/v1", model: "llama3.2", provider: "ollama" })
 * const result = await triage.run({ ticket: "Refund please" }, { models: { fast: local } })
 */
export const openaiCompatible = (options: OpenAICompatibleOptions): Model =>
  chatModel(
    {
      provider: options.provider ?? "openai-compatible",
      model: options.model,
      apiKey: () => (options.apiKey === undefined || options.apiKey === "" ? placeholderApiKey : options.apiKey),
      baseURL: () => options.baseURL,
      // Keep the SDK from sending OPENAI_ORG_ID / OPENAI_PROJECT_ID to a third-party server.
      organization: null,
      project: null,
      defaultHeaders: options.defaultHeaders,
      timeoutMs: options.timeoutMs,
    },
    { structuredOutput: options.structuredOutput ?? "json_schema", strict: false, maxTokensField: "max_tokens" },
  )
