import {
  checkDocuments,
  checkK,
  type DocumentsSource,
  type Embedder,
  passageOf,
  type RetrievalDocument,
  type Retriever,
  throwIfAborted,
} from "../contract/retriever.ts"

/**
 * Options of {@link embeddingRetriever}.
 *
 * @example
 * const options: EmbeddingRetrieverOptions = { embedder: openaiEmbeddings({ model: "text-embedding-3-small" }), documents, batchSize: 64 }
 */
export interface EmbeddingRetrieverOptions {
  readonly embedder: Embedder
  readonly documents: DocumentsSource
  /** How many documents go to the embedder per call while indexing (default 96). */
  readonly batchSize?: number
}

/**
 * A retriever that ranks documents by cosine similarity between their embeddings and the query's,
 * in memory. Documents are embedded once, on the first query, and kept; each query costs one
 * embedder call. A failed indexing (a rate limit) is tried again on the next query.
 *
 * @example
 * const semantic = embeddingRetriever({ embedder: openaiEmbeddings({ model: "text-embedding-3-small" }), documents })
 * const passages = await semantic.retrieve("money back", { k: 3, signal: new AbortController().signal })
 */
export const embeddingRetriever = (options: EmbeddingRetrieverOptions): Retriever => {
  const batchSize = options.batchSize ?? 96
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`embeddingRetriever: batchSize must be an integer >= 1, got ${batchSize}`)
  let index: Promise<ReadonlyArray<{ readonly document: RetrievalDocument; readonly vector: readonly number[]; readonly norm: number }>> | undefined
  // Indexing serves every query (and every run) that shares this retriever, so no single query's
  // signal may cancel it: a query that is cancelled stops waiting, the indexing goes on.
  const build = async (signal: AbortSignal) => {
    const documents = await options.documents
    checkDocuments(documents, "embeddingRetriever")
    const vectors: number[][] = []
    for (let start = 0; start < documents.length; start += batchSize) {
      const batch = documents.slice(start, start + batchSize)
      vectors.push(
        ...checkVectors(
          await options.embedder.embed(
            batch.map((document) => document.text),
            { signal },
          ),
          batch.length,
          "documents",
        ),
      )
    }
    return documents.map((document, position) => {
      const vector = vectors[position] as number[]
      return { document, vector, norm: normOf(vector) }
    })
  }
  return {
    retrieve: async (query, { k, signal }) => {
      checkK(k, "embeddingRetriever")
      throwIfAborted(signal)
      index ??= build(new AbortController().signal).catch((error: unknown) => {
        index = undefined
        throw error
      })
      // Indexing first, then the query: one request at a time to the embeddings API, in a fixed order.
      const indexed = await untilAborted(index, signal)
      const [queryVector] = checkVectors(await options.embedder.embed([query], { signal }), 1, "the query")
      const queryNorm = normOf(queryVector as number[])
      return indexed
        .map(({ document, vector, norm }) => passageOf(document, cosine(queryVector as number[], queryNorm, vector, norm)))
        .sort((left, right) => right.score - left.score)
        .slice(0, k)
    },
  }
}

const untilAborted = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const onAbort = () => reject(signal.reason)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    )
  })

const checkVectors = (vectors: unknown, expected: number, what: string): number[][] => {
  if (!Array.isArray(vectors) || vectors.length !== expected) {
    throw new TypeError(
      `embeddingRetriever: the embedder returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${expected} texts (${what})`,
    )
  }
  return vectors as number[][]
}

const normOf = (vector: readonly number[]): number => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0))

/** Cosine similarity; 0 when either vector is all zeros (nothing in common is known). */
const cosine = (left: readonly number[], leftNorm: number, right: readonly number[], rightNorm: number): number => {
  if (left.length !== right.length)
    throw new TypeError(`embeddingRetriever: vectors of different lengths (${left.length} and ${right.length}); was the embedding model changed?`)
  if (leftNorm === 0 || rightNorm === 0) return 0
  let dot = 0
  for (let position = 0; position < left.length; position++) dot += (left[position] as number) * (right[position] as number)
  return dot / (leftNorm * rightNorm)
}
