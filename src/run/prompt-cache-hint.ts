import type { PromptCacheHint } from "../contract/model.ts"
import type { RunServices } from "./services.ts"

/**
 * The prompt-cache hint of a step's model calls: none with `cache: false`; else the step's own
 * key and breakpoints, the key defaulting to the thread (`thread:<id>`, for a step that sends the
 * run's thread: one conversation shares one prefix) or to the pipeline and step
 * (`triage:classify`: every run of a step shares its system prompt and tools).
 *
 * @example
 * promptCacheHint({ cache: { breakpoints: ["system"] } }, services, "classify", false) // { key: "triage:classify", breakpoints: ["system"] }
 */
export const promptCacheHint = (
  step: { readonly cache?: boolean | PromptCacheHint },
  services: RunServices,
  stepName: string,
  usesThread: boolean,
): PromptCacheHint | false => {
  if (step.cache === false) return false
  const own = typeof step.cache === "object" ? step.cache : {}
  const threadId = usesThread ? services.thread?.().id : undefined
  const key = own.key ?? (typeof threadId === "string" ? `thread:${threadId}` : `${services.pipeline ?? "pipeline"}:${stepName}`)
  return { key, ...(own.breakpoints === undefined ? {} : { breakpoints: own.breakpoints }) }
}
