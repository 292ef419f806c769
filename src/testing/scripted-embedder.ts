import type { Embedder } from "../contract/retriever.ts"

/**
 * One call the scripted embedder received.
 *
 * @example
 * const texts = (calls: readonly EmbedCall[]) => calls.flatMap((call) => call.texts)
 */
export interface EmbedCall {
  readonly texts: readonly string[]
}

/**
 * A deterministic embedder for tests and offline examples: each word (lower-cased, stemmed of a
 * trailing "s") is hashed into one of `dimensions` slots, so texts that share words have a high
 * cosine similarity and texts that share none have 0. `vectors` pins exact vectors for given texts.
 *
 * @example
 * const embedder = scriptedEmbedder()
 * const retriever = embeddingRetriever({ embedder, documents })
 * embedder.calls.length // 0 until the first query
 */
export const scriptedEmbedder = (
  options: { readonly dimensions?: number; readonly vectors?: Readonly<Record<string, readonly number[]>> } = {},
): Embedder & { readonly calls: readonly EmbedCall[] } => {
  const dimensions = options.dimensions ?? 256
  const calls: EmbedCall[] = []
  const vectorOf = (text: string): number[] => {
    const pinned = options.vectors?.[text]
    if (pinned !== undefined) return [...pinned]
    const vector = new Array<number>(dimensions).fill(0)
    for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
      if (word.length < 3 || stopWords.has(word)) continue
      const stem = word.length > 3 && word.endsWith("s") ? word.slice(0, -1) : word
      const slot = hash(stem) % dimensions
      vector[slot] = (vector[slot] as number) + 1
    }
    return vector
  }
  return {
    calls,
    embed: async (texts, { signal }) => {
      if (signal.aborted) throw signal.reason
      calls.push({ texts: [...texts] })
      return texts.map(vectorOf)
    },
  }
}

// Words every English text shares would make unrelated texts look alike.
const stopWords = new Set(
  "the and for are was were you your how what when where which who why does did can could with this that from have has not but all any our out its".split(" "),
)

// FNV-1a: stable across runs and platforms, so a test's ranking never changes.
const hash = (text: string): number => {
  let value = 0x811c9dc5
  for (let position = 0; position < text.length; position++) {
    value ^= text.charCodeAt(position)
    value = Math.imul(value, 0x01000193) >>> 0
  }
  return value
}
