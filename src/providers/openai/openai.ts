import type { Model } from "../../contract/model.ts"
import { chatModel, responsesModel } from "./generate.ts"

/**
 * Options of {@link openai}. The key and base URL fall back to `OPENAI_API_KEY` and
 * `OPENAI_BASE_URL`, read at each call (never at import).
 *
 * @example
 * const options: OpenAIOptions = { model: "gpt-5-mini", api: "chat", timeoutMs: 30_000 }
 */
export interface OpenAIOptions {
  readonly model: string
  readonly apiKey?: string
  readonly baseURL?: string
  /** `responses` (default) or `chat` (Chat Completions). */
  readonly api?: "responses" | "chat"
  readonly organization?: string
  readonly defaultHeaders?: Readonly<Record<string, string>>
  /** How long to wait for response headers; streams are bounded by the step's first-token and idle timeouts instead. */
  readonly timeoutMs?: number
}

/**
 * An OpenAI model through the official `openai` SDK (loaded on the first call; the SDK's own
 * retries are off, the step policy retries). Structured output uses JSON-schema mode, strict when
 * the schema allows it: strict mode needs every property required, so a zod `.optional()` field
 * sends the schema with `strict: false` (zod still validates; use `.nullable()` to stay strict).
 * Prompt caching is automatic on OpenAI; a run sends `prompt_cache_key` (the pipeline and step, or
 * the thread) so requests that share a prefix reach the same cache. Every failure is a `ModelError`; an abort through the step's signal rejects with the signal's reason.
 *
 * @example
 * const result = await triage.run({ ticket: "Refund please" }, { models: { fast: openai({ model: "gpt-5-mini" }) } })
 */
export const openai = (options: OpenAIOptions): Model => {
  const connection = {
    provider: "openai",
    model: options.model,
    apiKey: () =>
      nonEmpty(options.apiKey) ?? nonEmpty(process.env["OPENAI_API_KEY"]) ?? { missing: "no API key: pass apiKey to openai() or set OPENAI_API_KEY" },
    baseURL: () => options.baseURL ?? nonEmpty(process.env["OPENAI_BASE_URL"]),
    organization: options.organization,
    defaultHeaders: options.defaultHeaders,
    timeoutMs: options.timeoutMs,
  }
  return options.api === "chat"
    ? chatModel(connection, { structuredOutput: "json_schema", strict: true, maxTokensField: "max_completion_tokens", promptCacheKey: true })
    : responsesModel(connection)
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : value)
