import type { Passage } from "../contract/retriever.ts"

/**
 * Options of {@link assembleContext}.
 *
 * @example
 * const options: AssembleOptions = { maxTokens: 1500, header: (citation) => `[${citation.number}] ${citation.source ?? citation.id}` }
 */
export interface AssembleOptions {
  /** The budget for the whole context text, in estimated tokens (see {@link estimateTokens}). */
  readonly maxTokens: number
  /** The line above each passage (default `[n] source` , or `[n] id` when a passage has no source). */
  readonly header?: (citation: Citation) => string
  /** Between passages (default a blank line). */
  readonly separator?: string
  /** Counts tokens (default {@link estimateTokens}); pass your model's tokenizer for exact budgets. */
  readonly countTokens?: (text: string) => number
}

/**
 * One numbered source of an assembled context: what `[n]` in the text (and in the answer) refers to.
 *
 * @example
 * const footnote = (citation: Citation) => `[${citation.number}] ${citation.source ?? citation.id}`
 */
export interface Citation {
  readonly number: number
  readonly id: string
  readonly source?: string
  readonly title?: string
  readonly score: number
}

/**
 * An assembled context: the text to put in a prompt, its citations in order, and what did not fit.
 *
 * @example
 * const prompt = (context: AssembledContext, question: string) => `Answer from these sources, citing [n]:\n\n${context.text}\n\nQuestion: ${question}`
 */
export interface AssembledContext {
  readonly text: string
  readonly citations: readonly Citation[]
  /** Estimated tokens of `text` (never more than `maxTokens`). */
  readonly tokens: number
  /** Ids of passages left out because they did not fit. */
  readonly omitted: readonly string[]
}

/**
 * A token estimate that needs no tokenizer: one token per 4 characters, rounded up. It is close
 * for English prose on current OpenAI and Anthropic tokenizers and errs high on short words; for
 * code or other languages pass an exact `countTokens`.
 *
 * @example
 * estimateTokens("Refunds take five working days.") // 8
 */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4)

/**
 * Fits passages into a token budget, in the order given (best first), each under a numbered
 * header, and returns the text with its citations. A passage that does not fit is left out (and
 * named in `omitted`) while later, shorter ones may still fit; numbers stay 1, 2, 3… over the
 * passages kept, so `[n]` in an answer maps to `citations[n - 1]`.
 *
 * @example
 * const context = assembleContext(steps.search?.passages ?? [], { maxTokens: 1500 })
 * const prompt = `Answer with citations like [1].\n\n${context.text}`
 */
export const assembleContext = (passages: readonly Passage[], options: AssembleOptions): AssembledContext => {
  const { maxTokens } = options
  if (!Number.isFinite(maxTokens) || maxTokens < 0) throw new RangeError(`assembleContext: maxTokens must be a number >= 0, got ${maxTokens}`)
  const count = options.countTokens ?? estimateTokens
  const header =
    options.header ??
    ((citation: Citation) => `[${citation.number}] ${citation.source ?? citation.id}${citation.title === undefined ? "" : ` — ${citation.title}`}`)
  const separator = options.separator ?? "\n\n"
  const citations: Citation[] = []
  const omitted: string[] = []
  let text = ""
  let tokens = 0
  for (const passage of passages) {
    const citation: Citation = {
      number: citations.length + 1,
      id: passage.id,
      score: passage.score,
      ...(passage.source === undefined ? {} : { source: passage.source }),
      ...(passage.title === undefined ? {} : { title: passage.title }),
    }
    const block = `${header(citation)}\n${passage.text.trim()}`
    const candidate = text === "" ? block : `${text}${separator}${block}`
    // Counted on the whole text, not summed per block, so a tokenizer's joins are measured too.
    const candidateTokens = count(candidate)
    if (candidateTokens > maxTokens) {
      omitted.push(passage.id)
      continue
    }
    text = candidate
    tokens = candidateTokens
    citations.push(citation)
  }
  return { text, citations, tokens, omitted }
}
