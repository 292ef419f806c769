import type { ModelCache } from "../contract/model-cache.ts"

/**
 * A response cache in this process's memory: re-runs in the same process (a test, an evaluation
 * loop) answer repeated model calls without calling the model.
 *
 * @example
 * const modelCache = memoryModelCache({ version: "prompts-v2" })
 * await triage.run({ ticket: "Refund please" }, { models, modelCache })
 */
export const memoryModelCache = (options: { readonly version?: string } = {}): ModelCache & { readonly size: () => number } => {
  const entries = new Map<string, string>()
  return {
    label: "memory",
    ...(options.version === undefined ? {} : { version: options.version }),
    get: async (key) => entries.get(key),
    set: async (key, value) => {
      entries.set(key, value)
    },
    size: () => entries.size,
  }
}
