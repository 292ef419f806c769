import type { StopContext, StopRule } from "./stop-rules.ts"

/** Where a run can go after a step: one of the pipeline's steps, or `"done"`. */
export type Target<TSteps> = (keyof TSteps & string) | "done"

/**
 * What a route function reads: the step's own typed output, the input, every output so far.
 *
 * @example
 * const pick = ({ output }: RouteContext<unknown, {}, { ok: boolean }>) => (output.ok ? "done" : "fix")
 */
export interface RouteContext<TInput, TSteps, TOutput> {
  readonly output: TOutput
  readonly input: TInput
  readonly steps: Partial<TSteps> & { readonly [step: string]: unknown }
  readonly visit: number
}

/**
 * A route: a pure function of the step's output choosing among declared targets. The targets
 * are listed so the chart (and every path test) knows each way out before anything runs.
 *
 * @example
 * const next = route(["review", "answer"], ({ output }: { output: { confidence: number } }) =>
 *   output.confidence < 0.6 ? "review" : "answer")
 */
export interface Route<TContext, TTarget extends string> {
  readonly kind: "route"
  readonly targets: readonly TTarget[]
  readonly select: (context: TContext) => TTarget
  readonly name?: string
}

/**
 * Declares a route from a step: the targets it may choose, then the function that chooses.
 * The function's argument is typed by the step's output; returning a target not listed does not compile.
 *
 * @example
 * edges: {
 *   classify: route(["refund", "answer"], ({ output }) => (output.kind === "refund" ? "refund" : "answer")),
 * }
 */
export const route = <const TTarget extends string, TContext>(
  targets: readonly TTarget[],
  select: (context: TContext) => NoInfer<TTarget>,
): Route<TContext, TTarget> => ({ kind: "route", targets, select })

/**
 * The long form of an edge: where to go next, plus what happens on failure, on a human timeout,
 * and which stop rules guard entry into this step.
 *
 * @example
 * edges: { review: { next: "publish", timeout: "escalate" }, draft: { next: "critique", stop: maxVisits(3), stopped: "publish" } }
 */
export interface EdgeOptions<TInput, TSteps, TOutput> {
  readonly next: Target<TSteps> | Route<RouteContext<TInput, TSteps, TOutput>, Target<TSteps>>
  /** Where to go when the step fails after its retries and fallbacks (else the run fails). */
  readonly error?: Target<TSteps>
  /** Human steps: where to go when no decision arrived before the deadline (else the run fails). */
  readonly timeout?: Target<TSteps>
  /** Rules checked each time a route is about to enter this step. */
  readonly stop?: StopRule<StopContext<TInput, TSteps>> | ReadonlyArray<StopRule<StopContext<TInput, TSteps>>>
  /** Where to go when a stop rule fires (else the run ends `stopped`). */
  readonly stopped?: Target<TSteps>
  /** `retrieve` steps: where to go when no passage passed the relevance check (else `next` gets none). */
  readonly empty?: TOutput extends { readonly passages: readonly unknown[] } ? Target<TSteps> : never
}

/**
 * One step's edge: a target, a route, or the long form.
 *
 * @example
 * const edge: Edge<{ ticket: string }, { answer: string }, string> = "done"
 */
export type Edge<TInput, TSteps, TOutput> = Target<TSteps> | Route<RouteContext<TInput, TSteps, TOutput>, Target<TSteps>> | EdgeOptions<TInput, TSteps, TOutput>

/** Every step's edge, keyed by step name. */
export type EdgesOf<TInput, TSteps> = { readonly [TStep in keyof TSteps]: Edge<TInput, TSteps, TSteps[TStep]> }

/** An edge with every form reduced to the same shape, as the compiler and runtime use it. */
export interface NormalizedEdge {
  readonly targets: readonly string[]
  readonly select: ((context: RouteContext<unknown, Record<string, unknown>, unknown>) => string) | undefined
  readonly error: string | undefined
  readonly timeout: string | undefined
  readonly stop: readonly StopRule[]
  readonly stopped: string | undefined
  /** A retrieve step's `empty` target; it is also one of `targets`, chosen by `select`. */
  readonly empty?: string
}

/** Reduces any edge form to a {@link NormalizedEdge}; `undefined` when the value is no edge at all. */
export const normalizeEdge = (edge: unknown): NormalizedEdge | undefined => {
  if (typeof edge === "string") return { targets: [edge], select: undefined, error: undefined, timeout: undefined, stop: [], stopped: undefined }
  if (typeof edge !== "object" || edge === null) return undefined
  if ((edge as { kind?: unknown }).kind === "route") {
    const routeEdge = edge as Route<never, string>
    return {
      targets: [...routeEdge.targets],
      select: routeEdge.select as NormalizedEdge["select"],
      error: undefined,
      timeout: undefined,
      stop: [],
      stopped: undefined,
    }
  }
  if (!("next" in edge)) return undefined
  const options = edge as EdgeOptions<unknown, Record<string, unknown>, unknown>
  const next = normalizeEdge(options.next)
  if (next === undefined || (typeof options.next === "object" && "next" in options.next)) return undefined
  const stop = options.stop === undefined ? [] : Array.isArray(options.stop) ? options.stop : [options.stop as StopRule]
  const normalized = { targets: next.targets, select: next.select, error: options.error, timeout: options.timeout, stop, stopped: options.stopped }
  return options.empty === undefined ? normalized : withEmpty(normalized, options.empty)
}

// The empty edge is one more routed target, so the machine, the chart and every path test see it.
const withEmpty = (edge: NormalizedEdge, empty: string): NormalizedEdge => {
  const { select, targets } = edge
  return {
    ...edge,
    empty,
    targets: targets.includes(empty) ? targets : [...targets, empty],
    select: (context) =>
      (context.output as { readonly passages?: readonly unknown[] } | undefined)?.passages?.length === 0
        ? empty
        : select === undefined
          ? (targets[0] as string)
          : select(context),
  }
}
