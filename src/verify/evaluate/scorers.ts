import type { z } from "zod"
import type { RunError } from "../../contract/errors.ts"
import type { JournalEntry } from "../../contract/journal.ts"
import type { Models } from "../../contract/model.ts"
import type { EvalRow } from "./dataset.ts"
import { stableJson } from "./stable-json.ts"

/**
 * A scorer's verdict on one row: a score from 0 to 1 and why.
 *
 * @example
 * const verdict: Score = { score: 1, reason: "output equals expected" }
 */
export interface Score {
  readonly score: number
  readonly reason: string
}

/**
 * What a scorer sees of one row's run: the row, the final output (when the run is done), every
 * step output, the path taken, the journal and the error if the run failed.
 *
 * @example
 * const kindOf = (context: ScoreContext<{ classify: { kind: string } }>) => context.steps.classify?.kind
 */
export interface ScoreContext<TSteps = Record<string, unknown>> {
  readonly row: EvalRow
  readonly input: unknown
  readonly expected: unknown
  readonly output: unknown
  readonly status: "done" | "failed" | "stopped" | "awaiting-human"
  readonly steps: Partial<TSteps>
  readonly path: readonly string[]
  readonly entries: readonly JournalEntry[]
  readonly error?: RunError
  readonly signal: AbortSignal
  /** The evaluation's models, for scorers that call one (see `llmJudge`). */
  readonly models: Models
}

/**
 * Scores one row. Returns `undefined` when it does not apply to the row (e.g. `expectPath()` on
 * a row without an expected path): the row is left out of that scorer's mean. A custom scorer is
 * any such function.
 *
 * @example
 * const short: Scorer = ({ output }) => ({ score: String(output).length <= 280 ? 1 : 0, reason: `${String(output).length} characters` })
 */
export type Scorer<TSteps = Record<string, unknown>> = (context: ScoreContext<TSteps>) => Score | undefined | Promise<Score | undefined>

/**
 * Where a scorer reads its values: `actual` defaults to the run's final output, `expected` to the row's `expected`.
 *
 * @example
 * const options: Selectors<{ classify: { kind: string } }> = { actual: ({ steps }) => steps.classify?.kind }
 */
export interface Selectors<TSteps> {
  readonly actual?: (context: ScoreContext<TSteps>) => unknown
  readonly expected?: (context: ScoreContext<TSteps>) => unknown
}

const actualOf = <TSteps>(options: Selectors<TSteps>, context: ScoreContext<TSteps>) =>
  options.actual === undefined ? context.output : options.actual(context)
const expectedOf = <TSteps>(options: Selectors<TSteps>, context: ScoreContext<TSteps>) =>
  options.expected === undefined ? context.expected : options.expected(context)
const show = (value: unknown, limit = 80) => {
  const text = typeof value === "string" ? JSON.stringify(value) : stableJson(value)
  return text.length > limit ? `${text.slice(0, limit)}…` : text
}

/**
 * 1 when the value equals the expected one (deep, key order ignored), else 0. Rows without an expected value are skipped.
 *
 * @example
 * const kind = exact({ actual: ({ steps }) => steps.classify?.kind })
 */
export const exact =
  <TSteps = Record<string, unknown>>(options: Selectors<TSteps> = {}): Scorer<TSteps> =>
  (context) => {
    const expected = expectedOf(options, context)
    if (expected === undefined) return undefined
    const actual = actualOf(options, context)
    return stableJson(actual) === stableJson(expected)
      ? { score: 1, reason: `equals ${show(expected)}` }
      : { score: 0, reason: `expected ${show(expected)}, got ${show(actual)}` }
  }

/**
 * 1 when the text contains `text` (by default the row's expected value), else 0.
 *
 * @example
 * const mentionsRefund = includes("refund", { ignoreCase: true })
 */
export const includes =
  <TSteps = Record<string, unknown>>(text?: string, options: Selectors<TSteps> & { readonly ignoreCase?: boolean } = {}): Scorer<TSteps> =>
  (context) => {
    const wanted = text ?? expectedOf(options, context)
    if (wanted === undefined) return undefined
    const actual = actualOf(options, context)
    const haystack = typeof actual === "string" ? actual : stableJson(actual)
    const needle = String(wanted)
    const found = options.ignoreCase === true ? haystack.toLowerCase().includes(needle.toLowerCase()) : haystack.includes(needle)
    return found ? { score: 1, reason: `contains ${show(needle)}` } : { score: 0, reason: `does not contain ${show(needle)}: ${show(actual)}` }
  }

/**
 * 1 when the text matches the regular expression, else 0.
 *
 * @example
 * const polite = regex(/\b(sorry|thanks)\b/i)
 */
export const regex =
  <TSteps = Record<string, unknown>>(pattern: RegExp, options: Pick<Selectors<TSteps>, "actual"> = {}): Scorer<TSteps> =>
  (context) => {
    const actual = actualOf(options, context)
    const text = typeof actual === "string" ? actual : stableJson(actual)
    // A global or sticky pattern keeps state between calls: test a fresh copy.
    const matches = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "")).test(text)
    return matches ? { score: 1, reason: `matches ${pattern}` } : { score: 0, reason: `does not match ${pattern}: ${show(actual)}` }
  }

/**
 * 1 when the number is within `tolerance` of the expected one (`relative: true` makes the
 * tolerance a fraction of the expected value), else 0. Numeric strings count as numbers.
 *
 * @example
 * const total = numeric({ tolerance: 0.01, actual: ({ steps }) => steps.extract?.total })
 */
export const numeric =
  <TSteps = Record<string, unknown>>(options: Selectors<TSteps> & { readonly tolerance?: number; readonly relative?: boolean } = {}): Scorer<TSteps> =>
  (context) => {
    const rawExpected = expectedOf(options, context)
    if (rawExpected === undefined) return undefined
    const expected = toNumber(rawExpected)
    if (expected === undefined) return { score: 0, reason: `expected value ${show(rawExpected)} is not a number` }
    const rawActual = actualOf(options, context)
    const actual = toNumber(rawActual)
    if (actual === undefined) return { score: 0, reason: `not a number: ${show(rawActual)}` }
    const allowed = (options.tolerance ?? 0) * (options.relative === true ? Math.abs(expected) : 1)
    const difference = Math.abs(actual - expected)
    return difference <= allowed + Number.EPSILON * Math.max(1, Math.abs(expected))
      ? { score: 1, reason: `${actual} is within ${allowed} of ${expected}` }
      : { score: 0, reason: `${actual} is ${difference} away from ${expected} (tolerance ${allowed})` }
  }

const toNumber = (value: unknown): number | undefined => {
  const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN
  return Number.isFinite(number) ? number : undefined
}

/**
 * 1 when the value passes the zod schema, else 0 with the issues.
 *
 * @example
 * const wellFormed = schemaValid(z.object({ kind: z.string() }), { actual: ({ steps }) => steps.classify })
 */
export const schemaValid =
  <TSteps = Record<string, unknown>>(schema: z.ZodType, options: Pick<Selectors<TSteps>, "actual"> = {}): Scorer<TSteps> =>
  (context) => {
    const parsed = schema.safeParse(actualOf(options, context))
    if (parsed.success) return { score: 1, reason: "matches the schema" }
    return { score: 0, reason: parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ") }
  }

/**
 * 1 when the run went through exactly these steps in order (by default the row's
 * `expectPath`), else 0 naming the first difference. Rows without a path are skipped.
 *
 * @example
 * const route = expectPath() // each row's expectPath
 * const direct = expectPath(["classify", "answer"])
 */
export const expectPath =
  <TSteps = Record<string, unknown>>(steps?: readonly string[]): Scorer<TSteps> =>
  (context) => {
    const expected = steps ?? context.row.expectPath
    if (expected === undefined) return undefined
    const actual = context.path
    const index = Array.from({ length: Math.max(expected.length, actual.length) }, (_, position) => position).find(
      (position) => expected[position] !== actual[position],
    )
    if (index === undefined) return { score: 1, reason: `took ${expected.join(" → ")}` }
    const wanted = expected[index] ?? "(end)"
    const took = actual[index] ?? "(end)"
    return { score: 0, reason: `step ${index + 1}: expected ${wanted}, took ${took} (path ${actual.join(" → ") || "(none)"})` }
  }
