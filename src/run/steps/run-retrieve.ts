import { z } from "zod"
import { StepCodeError } from "../../contract/errors.ts"
import type { Passage } from "../../contract/retriever.ts"
import type { RetrievalResult, RetrieveStep } from "../../definition/steps/retrieve.ts"
import type { LlmStep } from "../../definition/steps/step.ts"
import { runAttempts } from "../attempt.ts"
import type { StepRun } from "../services.ts"
import { codeFailure, runOnce } from "./run-code.ts"
import { runLlm } from "./run-llm.ts"

const Graded = z.object({ relevant: z.array(z.number().int()) })

/**
 * The retrieve step: the query (user code), the retriever under the step policy, the `minScore`
 * cut, then the optional relevance call (a model call like an `llm` step's: journaled, retried,
 * counted in usage).
 */
export const runRetrieve = async (step: RetrieveStep<unknown, unknown>, stepRun: StepRun): Promise<RetrievalResult> => {
  const { name, context, scope } = stepRun
  const query = await runOnce(name, () => step.query(context), scope.signal)
  if (typeof query !== "string") {
    throw new StepCodeError({ step: name, retryable: false, message: `retrieve step "${name}": query() returned ${typeof query}, expected a string` })
  }
  const found = await runAttempts(scope, (signal) => step.retriever.retrieve(query, { k: step.k, signal }), { toError: (thrown) => codeFailure(name, thrown) })
  const problem = checkPassages(found)
  if (problem !== undefined) throw new StepCodeError({ step: name, retryable: false, message: `retrieve step "${name}": the retriever returned ${problem}` })
  const dropped: Array<RetrievalResult["dropped"][number]> = []
  let passages = found.filter((passage) => {
    if (step.minScore === undefined || passage.score >= step.minScore) return true
    dropped.push({ id: passage.id, score: passage.score, reason: "min-score" })
    return false
  })
  if (step.relevance !== undefined && passages.length > 0) {
    const relevant = new Set(await gradeRelevance(step, query, passages, stepRun))
    passages = passages.filter((passage, index) => {
      if (relevant.has(index + 1)) return true
      dropped.push({ id: passage.id, score: passage.score, reason: "not-relevant" })
      return false
    })
  }
  return { query, passages, dropped }
}

// A retriever is user code too: a malformed answer is named here, not left to fail later in a prompt.
const checkPassages = (found: unknown): string | undefined => {
  if (!Array.isArray(found)) return `${found === null ? "null" : typeof found}, expected an array of passages`
  const index = found.findIndex(
    (passage: Partial<Passage> | null) =>
      typeof passage?.id !== "string" || typeof passage.text !== "string" || typeof passage.score !== "number" || Number.isNaN(passage.score),
  )
  return index === -1 ? undefined : `passages[${index}] without a string id, a string text and a numeric score`
}

const gradeRelevance = (step: RetrieveStep<unknown, unknown>, query: string, passages: readonly Passage[], stepRun: StepRun) => {
  const relevance = step.relevance as NonNullable<RetrieveStep<unknown, unknown>["relevance"]>
  const instructions =
    relevance.prompt?.(query) ??
    `Which of these passages contain information that helps answer the question? A passage on another subject is not relevant, even if it shares words with the question.\n\nQuestion: ${query}`
  const numbered = passages.map((passage, index) => `[${index + 1}] ${passage.text}`).join("\n\n")
  const grader: LlmStep<unknown, unknown> = {
    kind: "llm",
    model: relevance.model,
    prompt: () =>
      `${instructions}\n\nPassages:\n\n${numbered}\n\nAnswer with JSON: {"relevant": [the numbers of the relevant passages]}, or {"relevant": []} when none is.`,
    output: Graded,
  }
  return runLlm(grader, stepRun).then((graded) => (graded as z.infer<typeof Graded>).relevant)
}
