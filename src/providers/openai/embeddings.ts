import type { Embedder } from "../../contract/retriever.ts"
import { connect } from "./client.ts"
import { failure } from "./errors.ts"

/**
 * Options of {@link openaiEmbeddings}. The key and base URL fall back to `OPENAI_API_KEY` and
 * `OPENAI_BASE_URL`, read at each call.
 *
 * @example
 * const options: OpenAIEmbeddingsOptions = { model: "text-embedding-3-small", dimensions: 512 }
 */
export interface OpenAIEmbeddingsOptions {
  readonly model: string
  readonly apiKey?: string
  /** Any server speaking OpenAI's embeddings API (e.g. `http://127.0.0.1:11434/v1` for Ollama). */
  readonly baseURL?: string
  /** Shorter vectors, for models that support it (`text-embedding-3-*`). */
  readonly dimensions?: number
  readonly timeoutMs?: number
}

/**
 * An {@link Embedder} on OpenAI's embeddings API through the official `openai` SDK (loaded on the
 * first call, its own retries off). Every failure is a `ModelError` (a 429 is `rate-limited` with
 * its `retry-after`), so a `retrieve` step's policy retries it like a model call.
 *
 * @example
 * const retriever = embeddingRetriever({ embedder: openaiEmbeddings({ model: "text-embedding-3-small" }), documents })
 */
export const openaiEmbeddings = (options: OpenAIEmbeddingsOptions): Embedder & { readonly provider: string; readonly model: string } => {
  const call = connect({
    provider: "openai",
    model: options.model,
    apiKey: () =>
      nonEmpty(options.apiKey) ?? nonEmpty(process.env["OPENAI_API_KEY"]) ?? { missing: "no API key: pass apiKey to openaiEmbeddings() or set OPENAI_API_KEY" },
    baseURL: () => options.baseURL ?? nonEmpty(process.env["OPENAI_BASE_URL"]),
    timeoutMs: options.timeoutMs,
  })
  return {
    provider: "openai",
    model: options.model,
    embed: (texts, { signal }) =>
      call({ signal }, async ({ client, signal: requestSignal, context }) => {
        if (texts.length === 0) return []
        const response = await client.embeddings.create(
          { model: options.model, input: [...texts], ...(options.dimensions === undefined ? {} : { dimensions: options.dimensions }) },
          { signal: requestSignal },
        )
        const data = Array.isArray(response.data) ? response.data : []
        if (data.length !== texts.length) throw failure(context, "server", `the embeddings response has ${data.length} vectors for ${texts.length} inputs`)
        // The API answers in input order and says so with `index`; sort anyway, never trust position alone.
        return [...data].sort((left, right) => left.index - right.index).map((item) => Array.from(item.embedding as ArrayLike<number>))
      }),
  }
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value.trim() === "" ? undefined : value)
