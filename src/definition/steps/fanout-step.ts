import type { AnyStateMachine } from "xstate"
import type { z } from "zod"
import type { RunError } from "../../contract/errors.ts"
import type { StepPolicy } from "../policy.ts"
import type { AgentStep } from "./agent.ts"
import type { AnyStep, Step } from "./step.ts"

/**
 * One item's outcome in a `map` that collects failures: its value, or the error it failed with.
 *
 * @example
 * const summaries = (results: ReadonlyArray<ItemResult<string>>) => results.flatMap((result) => (result.ok ? [result.value] : []))
 */
export type ItemResult<TValue> = { readonly ok: true; readonly value: TValue } | { readonly ok: false; readonly error: RunError }

/**
 * What a `map` does when an item fails: `"fail-fast"` (cancel the other items, the step fails),
 * `"collect"` (every item runs; the output holds each item's result) or {@link atLeast}`(k)`
 * (like collect, but the step fails as soon as fewer than `k` items can still succeed).
 *
 * @example
 * const policy: ItemErrorPolicy = atLeast(3)
 */
export type ItemErrorPolicy = "fail-fast" | "collect" | { readonly atLeast: number }

/**
 * A pipeline as another pipeline's step sees it: its id, its compiled machine and its step
 * definitions. Every built `Pipeline` is one.
 *
 * @example
 * const child: NestedPipeline = summarise
 */
export interface NestedPipeline {
  readonly id: string
  readonly input: z.ZodType<unknown>
  readonly machine: AnyStateMachine
  readonly definitions: ReadonlyMap<string, AnyStep>
}

interface FanoutBase<TOutput> {
  /** Phantom: carries the step's output type. Never set at run time. */
  readonly "~output"?: TOutput
  readonly description?: string
  readonly policy?: StepPolicy
}

/**
 * Runs several steps at once, each in its own region of an XState parallel state (built by `parallel()`).
 *
 * @example
 * const isParallel = (step: AnyStep): step is ParallelStep<unknown, unknown> => step.kind === "parallel"
 */
export interface ParallelStep<TOutput, TContext> extends FanoutBase<TOutput> {
  readonly kind: "parallel"
  readonly branches: Readonly<Record<string, AnyStep>>
  // biome-ignore lint/suspicious/noExplicitAny: the record of branch outputs is typed where the step is built
  readonly join?: (outputs: any, context: TContext) => TOutput
  /** `"collect"`: a failed branch does not fail the step; the join sees an `ItemResult` per branch. */
  readonly onBranchError?: "fail-fast" | "collect"
}

/**
 * Runs one step (or pipeline) per item of a list, with a concurrency cap; outputs in input order (built by `map()`).
 *
 * @example
 * const capped = (step: MapStep<unknown, unknown>) => step.concurrency !== undefined || step.maxItems !== undefined
 */
export interface MapStep<TOutput, TContext> extends FanoutBase<TOutput> {
  readonly kind: "map"
  readonly over: (context: TContext) => readonly unknown[] | PromiseLike<readonly unknown[]>
  /** Runs once per item, with the item as its `input`. */
  readonly each: AnyStep
  /** Most items in flight at once (default: all of them). */
  readonly concurrency?: number
  /** Longest list accepted; a longer one fails the step before any item starts. */
  readonly maxItems?: number
  readonly onItemError: ItemErrorPolicy
}

/**
 * Runs a whole pipeline as one step: its steps journal under this step's path (built by `subpipeline()`).
 *
 * @example
 * const childId = (step: PipelineStep<unknown, unknown>) => step.pipeline.id
 */
export interface PipelineStep<TOutput, TContext> extends FanoutBase<TOutput> {
  readonly kind: "pipeline"
  readonly pipeline: NestedPipeline
  readonly input: (context: TContext) => unknown
}

/**
 * A step that can run inside another (a parallel branch, a map item): any step but a parallel or
 * an agent step (sub-charts of their own pipeline: nest them in a pipeline instead). A human step
 * waits under the unit's path (`brief.legal`, `refunds[2]`); its decision is the unit's output.
 *
 * @example
 * const branch: UnitStep<number, StepContext<{ n: number }, {}>> = fn(({ input }) => input.n * 2)
 */
export type UnitStep<TOutput, TContext> = Exclude<Step<TOutput, TContext>, ParallelStep<TOutput, TContext> | AgentStep<TOutput, TContext>>
