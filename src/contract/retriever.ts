/**
 * A document a retriever searches: an id, its text, where it came from, and anything else to keep.
 *
 * @example
 * const document: RetrievalDocument = { id: "refunds#1", text: "Refunds take 5 days.", source: "docs/refunds.md" }
 */
export interface RetrievalDocument {
  readonly id: string
  readonly text: string
  /** Where the text came from (a file path, a URL): what a citation points to. */
  readonly source?: string
  /** A heading or title; the lexical retriever searches it too. */
  readonly title?: string
  readonly metadata?: Readonly<Record<string, unknown>>
}

/**
 * One retrieved passage: the document's text with the retriever's score for this query.
 * Scores are comparable only within one retriever (BM25 for `lexicalRetriever`, cosine
 * similarity in [-1, 1] for `embeddingRetriever`).
 *
 * @example
 * const best = (passages: readonly Passage[]) => passages[0]?.source
 */
export interface Passage {
  readonly id: string
  readonly text: string
  readonly score: number
  readonly source?: string
  readonly title?: string
  readonly metadata?: Readonly<Record<string, unknown>>
}

/**
 * Options of one retrieval: how many passages at most, and the step's signal (aborted when the
 * step is left).
 *
 * @example
 * const options: RetrieveOptions = { k: 4, signal: AbortSignal.timeout(5_000) }
 */
export interface RetrieveOptions {
  readonly k: number
  readonly signal: AbortSignal
}

/**
 * Anything that finds passages for a query, best first: the built-in lexical and embedding
 * retrievers, or your own (a vector database, a search API).
 *
 * @example
 * const fixed: Retriever = { retrieve: async () => [{ id: "a", text: "Refunds take 5 days.", score: 1 }] }
 */
export interface Retriever {
  retrieve(query: string, options: RetrieveOptions): Promise<readonly Passage[]>
}

/**
 * Turns texts into vectors, one per text, in order: an embeddings API or the scripted embedder.
 *
 * @example
 * const lengths: Embedder = { embed: async (texts) => texts.map((text) => [text.length, 1]) }
 */
export interface Embedder {
  embed(texts: readonly string[], options: { readonly signal: AbortSignal }): Promise<number[][]>
}

/** Documents given directly, or a promise of them (e.g. `loadDocuments("docs/")`). */
export type DocumentsSource = readonly RetrievalDocument[] | PromiseLike<readonly RetrievalDocument[]>

/** Checks the documents once: a clear error names the first bad one, and ids must be unique. */
export const checkDocuments = (documents: readonly RetrievalDocument[], where: string): void => {
  const seen = new Set<string>()
  for (const [index, document] of documents.entries()) {
    if (typeof document?.id !== "string" || document.id === "") throw new TypeError(`${where}: documents[${index}] has no id (a non-empty string)`)
    if (typeof document.text !== "string") throw new TypeError(`${where}: documents[${index}] ("${document.id}") has no text (a string)`)
    if (seen.has(document.id)) throw new TypeError(`${where}: documents[${index}] repeats the id "${document.id}"`)
    seen.add(document.id)
  }
}

/** Checks `k` as the step and the retrievers receive it. */
export const checkK = (k: number, where: string): void => {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${where}: k must be an integer >= 1, got ${k}`)
}

/** The passage of a document, with a score. */
export const passageOf = (document: RetrievalDocument, score: number): Passage => ({
  id: document.id,
  text: document.text,
  score,
  ...(document.source === undefined ? {} : { source: document.source }),
  ...(document.title === undefined ? {} : { title: document.title }),
  ...(document.metadata === undefined ? {} : { metadata: document.metadata }),
})

/** Rejects with the signal's reason once it is aborted, so a retrieval stops when its step is left. */
export const throwIfAborted = (signal: AbortSignal): void => {
  if (signal.aborted) throw signal.reason
}
