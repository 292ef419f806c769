import type { Model } from "../../contract/model.ts"
import type { Passage, Retriever } from "../../contract/retriever.ts"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { StepContext } from "./step.ts"

/**
 * What a `retrieve` step returns: the query it ran, the passages that passed the relevance check
 * (best first), and the ones it dropped with the reason, so a run shows why its context was empty.
 *
 * @example
 * const sources = (result: RetrievalResult) => result.passages.map((passage) => passage.source)
 */
export interface RetrievalResult {
  readonly query: string
  readonly passages: readonly Passage[]
  readonly dropped: ReadonlyArray<{ readonly id: string; readonly score: number; readonly reason: "min-score" | "not-relevant" }>
}

/**
 * The optional model-graded relevance check: one call sees the query and the numbered passages and
 * answers `{ "relevant": [numbers] }`; passages not listed are dropped. `prompt` replaces the
 * instructions (the passages and the answer format are added after it).
 *
 * @example
 * const relevance: RelevanceCheck = { model: "fast", prompt: (query) => `Which passages help answer: ${query}?` }
 */
export interface RelevanceCheck {
  readonly model: string | Model
  readonly prompt?: (query: string) => string
}

/** Retrieves passages for a query computed from the run, then checks their relevance. */
export interface RetrieveStep<TOutput, TContext> {
  readonly kind: "retrieve"
  /** Phantom: carries the step's output type. Never set at run time. */
  readonly "~output"?: TOutput
  readonly description?: string
  readonly policy?: StepPolicy
  readonly retriever: Retriever
  readonly query: (context: TContext) => string
  readonly k: number
  readonly minScore?: number
  readonly relevance?: RelevanceCheck
}

/**
 * A step that retrieves passages for a query computed from the run. Passages scoring under
 * `minScore` are dropped, then (with `relevance`) the ones a model judges irrelevant. When none is
 * left, the step's `empty` edge is taken (`{ next, empty }`), so "nothing relevant found" is a
 * transition of the chart rather than a prompt with no context. The output is journaled like any
 * step's, so a resumed run never retrieves again.
 *
 * @example
 * const search = retrieve({ retriever: handbook, query: ({ input }) => input.question, k: 4, minScore: 1, relevance: { model: "fast" } })
 * // edges: { search: { next: "answer", empty: "dontKnow" } }
 */
export const retrieve = <TInput = never, TSteps = never>(options: {
  readonly retriever: Retriever
  readonly query: (context: StepContext<TInput, TSteps>) => string
  /** How many passages to ask the retriever for (default 4). */
  readonly k?: number
  /** Drop passages scoring below this (the retriever's scale: BM25 for lexical, cosine for embeddings). */
  readonly minScore?: number
  readonly relevance?: RelevanceCheck
  readonly description?: string
  readonly policy?: StepPolicy
}): RetrieveStep<RetrievalResult, StepContext<TInput, TSteps>> => {
  const given = optionsOf(options)
  return builtFrom(
    { ...given, kind: "retrieve", k: given["k"] ?? 4 } as RetrieveStep<RetrievalResult, StepContext<TInput, TSteps>>,
    "retrieve(options)",
    options,
    true,
  )
}
