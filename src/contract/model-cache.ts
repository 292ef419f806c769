/**
 * Where answers of model calls are kept for development and evaluation (`modelCache` run option).
 * Keys are hashes the run layer computes from the provider, the model, the whole request and
 * `version`; values are JSON text the run layer writes and checks when it reads them back, so a
 * store only keeps strings. A `get` that throws or returns text that is not a valid answer is a
 * miss, never a failed step.
 *
 * @example
 * const entries = new Map<string, string>()
 * const cache: ModelCache = {
 *   label: "map",
 *   get: async (key) => entries.get(key),
 *   set: async (key, value) => void entries.set(key, value),
 * }
 */
export interface ModelCache {
  /** Names the cache in messages (`sqlite ./cache.db`). */
  readonly label: string
  /** Part of every key: change it to invalidate what is kept (a new prompt style, a new model build). */
  readonly version?: string
  get(key: string): Promise<string | undefined>
  set(key: string, value: string): Promise<void>
}
