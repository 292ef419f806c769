import type { PromptCacheHint } from "../../contract/model.ts"

// OpenAI caches prefixes on its own; the key only routes requests that share one to the same
// cache. It is at most 64 characters on the wire, so a longer key is shortened by a hash.
const keyLimit = 64

/**
 * The `prompt_cache_key` field of a request, when the hint carries a key.
 *
 * @example
 * promptCacheKeyOf({ key: "triage:classify" }) // { prompt_cache_key: "triage:classify" }
 */
export const promptCacheKeyOf = (hint: PromptCacheHint | false | undefined): { prompt_cache_key?: string } => {
  if (hint === false || hint?.key === undefined || hint.key === "") return {}
  return { prompt_cache_key: hint.key.length <= keyLimit ? hint.key : `${hint.key.slice(0, keyLimit - 9)}~${shortHash(hint.key)}` }
}

// FNV-1a: stable across processes and versions, no crypto needed for routing.
const shortHash = (text: string): string => {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}
