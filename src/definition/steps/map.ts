import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { PipelineDefinition } from "../graph.ts"
import type { StepPolicy } from "../policy.ts"
import type { ItemErrorPolicy, ItemResult, MapStep, UnitStep } from "./fanout-step.ts"
import type { StepContext } from "./step.ts"
import { subpipeline } from "./subpipeline.ts"

/**
 * The output of one nested pipeline: the output of the step that routed it to `done`.
 *
 * @example
 * type Summary = PipelineOutput<typeof summarise>
 */
export type PipelineOutput<TPipeline> = TPipeline extends { readonly "~steps"?: infer TSteps } ? TSteps[keyof TSteps] : never

/**
 * The output of a `map`: item outputs in input order, or per-item results when failures are collected.
 *
 * @example
 * type Summaries = MapOutput<string, "collect"> // ReadonlyArray<ItemResult<string>>
 */
export type MapOutput<TItemOutput, TPolicy extends ItemErrorPolicy> = TPolicy extends "fail-fast"
  ? ReadonlyArray<TItemOutput>
  : ReadonlyArray<ItemResult<TItemOutput>>

/**
 * An item failure policy for `map`: keep going while at least `count` items can still succeed;
 * the step fails as soon as that is impossible (the other items are cancelled).
 *
 * @example
 * map({ over: ({ input }) => input.sources, each: fetchSource, concurrency: 4, onItemError: atLeast(2) })
 */
export const atLeast = (count: number): { readonly atLeast: number } => {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`atLeast(count): expected an integer >= 0, got ${count}`)
  return { atLeast: count }
}

/**
 * A step that runs `each` once per item of a list computed by `over`, at most `concurrency` at a
 * time, and outputs the results in input order whatever order they finish in. `each` is a step
 * whose `input` is the item (annotate it, `({ input }: { input: Item })`: TypeScript cannot carry
 * the item type from `over` into a step built inline), or a pipeline whose input is the item. An
 * item sees only its item (its `steps` are empty): put what it needs from earlier steps into the
 * items `over` returns, so each item is a pure function of its input. Items journal as
 * `<step>[<index>]` (a pipeline's steps as `<step>[<index>].<child step>`); a resumed run skips the
 * items that finished. An empty list finishes at once with `[]`.
 *
 * @example
 * const summaries = map({
 *   over: ({ input }: { input: { documents: string[] } }) => input.documents,
 *   each: llm({ model: "fast", prompt: ({ input }: { input: string }) => `Summarise: ${input}` }),
 *   concurrency: 8,
 * })
 */
export const map = <TItem, TItemOutput, const TPolicy extends ItemErrorPolicy = "fail-fast", TInput = never, TSteps = never>(options: {
  readonly over: (context: StepContext<TInput, TSteps>) => readonly TItem[] | PromiseLike<readonly TItem[]>
  readonly each: UnitStep<TItemOutput, StepContext<TItem, never>> | PipelineDefinition<TItem, { readonly [step: string]: TItemOutput }>
  /** Most items in flight at once (default: all). `check()` flags a map without one. */
  readonly concurrency?: number
  /** Longest list accepted: a longer one fails the step before any item starts (default: no limit). */
  readonly maxItems?: number
  /** What an item failure does (default `"fail-fast"`). */
  readonly onItemError?: TPolicy
  readonly description?: string
  /** Defaults for each item (the item step's own policy wins field by field). */
  readonly policy?: StepPolicy
}): MapStep<MapOutput<TItemOutput, TPolicy>, StepContext<TInput, TSteps>> => {
  const given = optionsOf(options)
  const each = isPipeline(given["each"]) ? subpipeline(given["each"], { input: ({ input }) => input }) : given["each"]
  return builtFrom(
    { ...given, kind: "map", each, onItemError: given["onItemError"] ?? "fail-fast" } as unknown as MapStep<
      MapOutput<TItemOutput, TPolicy>,
      StepContext<TInput, TSteps>
    >,
    "map(options)",
    options,
    true,
  )
}

const isPipeline = (value: unknown): value is PipelineDefinition<unknown, Record<string, unknown>> =>
  typeof value === "object" && value !== null && "machine" in value && "definitions" in value
