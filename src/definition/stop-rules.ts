import { describeValue } from "./check-arguments.ts"

/**
 * What a stop rule sees when a route is about to enter its step.
 *
 * @example
 * const tooMany = ({ visits }: StopContext) => visits >= 5
 */
export interface StopContext<TInput = unknown, TSteps = Record<string, unknown>> {
  readonly input: TInput
  readonly steps: Partial<TSteps> & { readonly [step: string]: unknown }
  /** How many times the guarded step has already run. */
  readonly visits: number
}

/**
 * A named, pure guard on entering a step. When it fires, the step is not entered: the run follows
 * the step's `stopped` edge, or ends with status `stopped` naming the rule.
 *
 * @example
 * const rule: StopRule = maxVisits(3)
 */
// biome-ignore lint/suspicious/noExplicitAny: by default a rule fits a loop of any input and step outputs
export interface StopRule<TContext = StopContext<any, any>> {
  /** Shown in the chart and in `stoppedBy`, e.g. `maxVisits(3)`. */
  readonly name: string
  readonly fires: (context: TContext) => boolean
  /**
   * An agent's rule: where it can fire, after a model turn and/or after a tool batch (omitted:
   * both). The compiler gives the sub-chart only the stop transitions a rule can take, so
   * `coverage()` never waits for one no run can take (`maxSteps` counts turns, which a tool batch
   * does not change).
   */
  readonly points?: ReadonlyArray<"turn" | "tools">
}

/**
 * Lets a step run at most `n` times; the `n + 1`-th entry fires the rule.
 *
 * @example
 * edges: { draft: { next: "critique", stop: maxVisits(3), stopped: "publish" } }
 */
export const maxVisits = (n: number): StopRule => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`maxVisits(n): n must be an integer >= 1, got ${n}`)
  return { name: `maxVisits(${n})`, fires: ({ visits }) => visits >= n }
}

/**
 * A stop rule from a named predicate over the input, the outputs so far and the visit count.
 *
 * @example
 * const goodEnough = when("goodEnough", ({ steps }) => (steps.critique as { score: number } | undefined)?.score === 10)
 */
// biome-ignore lint/suspicious/noExplicitAny: by default a predicate fits a loop of any input and step outputs
export const when = <TContext = StopContext<any, any>>(name: string, predicate: (context: TContext) => boolean): StopRule<TContext> => {
  if (typeof name !== "string" || name.trim() === "") {
    throw new TypeError(`when(name, predicate): name must be a non-empty string (it names the rule in charts and results), got ${describeValue(name)}`)
  }
  if (typeof predicate !== "function") throw new TypeError(`when("${name}", predicate): predicate must be a function, got ${describeValue(predicate)}`)
  return { name, fires: predicate }
}
