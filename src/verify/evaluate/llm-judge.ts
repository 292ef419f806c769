import type { Model } from "../../contract/model.ts"
import type { Score, Scorer, Selectors } from "./scorers.ts"
import { stableJson } from "./stable-json.ts"
import { zod } from "./zod-lazy.ts"

let verdictSchema: ReturnType<typeof buildVerdict> | undefined
const buildVerdict = () => {
  const z = zod()
  return z.object({ score: z.number().min(0).max(1), reason: z.string().min(1) })
}
const Verdict = () => (verdictSchema ??= buildVerdict())

/** Options of {@link llmJudge}. */
export interface JudgeOptions<TSteps> extends Selectors<TSteps> {
  /** The judge: a model, or an alias of the evaluation's models. */
  readonly model: Model | string
  /** What a good answer is, in plain words. */
  readonly rubric: string
  /** A failed or unparsable verdict is asked again this many times (default 1). */
  readonly retries?: number
}

/**
 * Asks a model to grade the output against a rubric and answer with JSON `{ score, reason }`
 * (zod-validated, score from 0 to 1). The judge sees the row's input, the expected value when
 * there is one, and the output. A judge that keeps failing scores 0 with the failure as reason.
 *
 * @example
 * const tone = llmJudge({ model: "judge", rubric: "Polite, names the next step, at most two sentences." })
 */
export const llmJudge =
  <TSteps = Record<string, unknown>>(options: JudgeOptions<TSteps>): Scorer<TSteps> =>
  async (context) => {
    const model = typeof options.model === "string" ? context.models[options.model] : options.model
    if (model === undefined) return { score: 0, reason: `judge model "${String(options.model)}" is not among the evaluation's models` }
    const actual = options.actual === undefined ? context.output : options.actual(context)
    const expected = options.expected === undefined ? context.expected : options.expected(context)
    const prompt = [
      `Rubric:\n${options.rubric}`,
      `Input:\n${text(context.input)}`,
      ...(expected === undefined ? [] : [`Expected (reference):\n${text(expected)}`]),
      `Output to grade:\n${text(actual)}`,
      'Answer with JSON only: {"score": <number from 0 to 1>, "reason": "<one sentence>"}.',
    ].join("\n\n")
    let problem = "no verdict"
    for (let attempt = 0; attempt <= (options.retries ?? 1); attempt++) {
      try {
        const response = await model.generate(
          {
            messages: [
              { role: "system", content: "You grade the output of an AI pipeline against a rubric, strictly and briefly." },
              { role: "user", content: prompt },
            ],
            output: { name: "verdict", jsonSchema: Verdict().toJSONSchema() as Record<string, unknown> },
            temperature: 0,
          },
          { signal: context.signal },
        )
        const verdict = parseVerdict(response.text)
        if ("score" in verdict) return verdict
        problem = verdict.problem
      } catch (error) {
        problem = `judge call failed: ${error instanceof Error ? error.message : String(error)}`
      }
    }
    return { score: 0, reason: problem }
  }

const text = (value: unknown) => (typeof value === "string" ? value : stableJson(value))

const parseVerdict = (answer: string): Score | { readonly problem: string } => {
  let value: unknown
  try {
    value = JSON.parse(answer.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ""))
  } catch {
    return { problem: `judge answer is not JSON: ${answer.slice(0, 120)}` }
  }
  const parsed = Verdict().safeParse(value)
  if (parsed.success) return parsed.data
  return {
    problem: `judge verdict is invalid: ${parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ")}`,
  }
}
