import type MiniSearch from "minisearch"
import { checkDocuments, checkK, type DocumentsSource, passageOf, type RetrievalDocument, type Retriever, throwIfAborted } from "../contract/retriever.ts"

/**
 * Options of {@link lexicalRetriever}.
 *
 * @example
 * const options: LexicalRetrieverOptions = { documents: loadDocuments("docs/"), fuzzy: 0.2 }
 */
export interface LexicalRetrieverOptions {
  readonly documents: DocumentsSource
  /** Also match query terms of 3 letters or more by prefix ("refund" finds "refunds"); default true. */
  readonly prefix?: boolean
  /** Also match misspelt terms, within this fraction of the term's length (0.2 = one edit in five); default 0 (off). */
  readonly fuzzy?: number
  /** How much more a match in a document's title counts than one in its text; default 2. */
  readonly titleBoost?: number
  /** Words never indexed nor searched (default: common English words such as "the", "is", "how"). */
  readonly stopWords?: ReadonlySet<string>
}

// Without these, "what is the weather" would match every document containing "the".
const englishStopWords: ReadonlySet<string> = new Set(
  (
    "a about above after again all am an and any are as at be because been before being below between both but by can could did do does " +
    "doing down during each few for from further had has have having he her here hers him his how i if in into is it its itself just me " +
    "more most my no nor not now of off on once only or other our ours out over own same she should so some such than that the their " +
    "theirs them then there these they this those through to too under until up very was we were what when where which while who whom " +
    "why will with would you your yours"
  ).split(" "),
)

/**
 * A retriever that ranks documents by the words they share with the query (BM25+, through
 * `minisearch`), in memory. The index is built on the first query, from documents given in code or
 * loaded from a folder with `loadDocuments`. A query that shares no word with any document finds
 * nothing, which is what sends a `retrieve` step down its `empty` edge.
 *
 * @example
 * const handbook = lexicalRetriever({ documents: [{ id: "refunds", text: "Refunds take 5 working days." }] })
 * const passages = await handbook.retrieve("how long do refunds take", { k: 3, signal: new AbortController().signal })
 */
export const lexicalRetriever = (options: LexicalRetrieverOptions): Retriever & { readonly documentCount: () => Promise<number> } => {
  const stopWords = options.stopWords ?? englishStopWords
  let index: Promise<{ readonly search: MiniSearch<RetrievalDocument>; readonly byId: ReadonlyMap<string, RetrievalDocument> }> | undefined
  const build = async () => {
    const [{ default: MiniSearchClass }, documents] = await Promise.all([import("minisearch"), options.documents])
    checkDocuments(documents, "lexicalRetriever")
    const search = new MiniSearchClass<RetrievalDocument>({
      fields: ["title", "text"],
      storeFields: [],
      // Documents carry their own ids; minisearch keeps only what it needs to score.
      extractField: (document, field) => String((document as unknown as Record<string, unknown>)[field] ?? ""),
      processTerm: (term) => {
        const lower = term.toLowerCase()
        // One letter ("s" of "what's") would match too much, and says nothing.
        return lower.length < 2 || stopWords.has(lower) ? null : lower
      },
    })
    search.addAll(documents)
    return { search, byId: new Map(documents.map((document) => [document.id, document])) }
  }
  const ready = () => {
    // A failed load (a missing folder) is tried again on the next query, not cached forever.
    index ??= build().catch((error: unknown) => {
      index = undefined
      throw error
    })
    return index
  }
  return {
    documentCount: async () => (await ready()).byId.size,
    retrieve: async (query, { k, signal }) => {
      checkK(k, "lexicalRetriever")
      throwIfAborted(signal)
      const { search, byId } = await ready()
      throwIfAborted(signal)
      const results = search.search(query, {
        prefix: options.prefix === false ? false : (term) => term.length >= 3,
        fuzzy: options.fuzzy ?? 0,
        boost: { title: options.titleBoost ?? 2 },
        combineWith: "OR",
      })
      return results.slice(0, k).map((result) => passageOf(byId.get(String(result.id)) as RetrievalDocument, result.score))
    },
  }
}
