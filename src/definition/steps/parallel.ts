import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { ItemResult, ParallelStep, UnitStep } from "./fanout-step.ts"
import type { OutputOf, StepContext } from "./step.ts"

/**
 * The outputs of a parallel step's branches, by branch name.
 *
 * @example
 * type Fields = BranchOutputs<{ title: FnStep<string, unknown>; total: FnStep<number, unknown> }> // { readonly title: string; readonly total: number }
 */
export type BranchOutputs<TBranches> = { readonly [TBranch in keyof TBranches]: OutputOf<TBranches[TBranch]> }

/**
 * What a parallel step does when a branch fails: `"fail-fast"` (the default: the other branches
 * are cancelled and the step takes its error route) or `"collect"` (every branch runs to its end;
 * the join sees an `ItemResult` per branch, `{ ok: true, value }` or `{ ok: false, error }`).
 *
 * @example
 * const policy: BranchErrorPolicy = "collect"
 */
export type BranchErrorPolicy = "fail-fast" | "collect"

/**
 * The record a parallel step's join sees: each branch's output, or with `collect` its `ItemResult`.
 *
 * @example
 * type Seen = BranchResults<{ title: string }, "collect"> // { readonly title: ItemResult<string> }
 */
export type BranchResults<TOutputs, TPolicy extends BranchErrorPolicy> = TPolicy extends "collect"
  ? { readonly [TBranch in keyof TOutputs]: ItemResult<TOutputs[TBranch]> }
  : { readonly [TBranch in keyof TOutputs]: TOutputs[TBranch] }

/**
 * A step that runs its branches at the same time: each branch is a step (or a nested pipeline,
 * see {@link subpipeline}) in its own region of an XState parallel state. The output is the record
 * of every branch's output, or what `join` makes of it. Each branch writes only its own output,
 * so branches share no mutable state; each is journaled as `<step>.<branch>`, and a resumed run
 * re-runs only the branches that had not finished.
 *
 * @example
 * const extract = parallel({
 *   onBranchError: "fail-fast",
 *   branches: {
 *     title: llm({ model: "fast", prompt: ({ input }: { input: { text: string } }) => `Title of: ${input.text}` }),
 *     words: fn(({ input }: { input: { text: string } }) => input.text.split(" ").length),
 *   },
 *   join: ({ title, words }) => ({ title, words }),
 * })
 */
export const parallel = <
  TOutputs extends Readonly<Record<string, unknown>>,
  const TPolicy extends BranchErrorPolicy = "fail-fast",
  TOutput = BranchResults<TOutputs, TPolicy>,
  TInput = never,
  TSteps = never,
>(options: {
  /** The branches by name: steps (or `subpipeline(...)`) that see the run's input and earlier outputs. */
  readonly branches: { readonly [TBranch in keyof TOutputs]: UnitStep<TOutputs[TBranch], StepContext<TInput, TSteps>> }
  /** Maps the record of branch outputs to the step's output (default: the record itself). */
  readonly join?: (outputs: BranchResults<TOutputs, TPolicy>, context: StepContext<TInput, TSteps>) => TOutput
  /** What a branch failure does (default `"fail-fast"`); with `"collect"` the join sees an `ItemResult` per branch. */
  readonly onBranchError?: TPolicy
  readonly description?: string
  /** Defaults for the branches (a branch's own policy wins field by field). */
  readonly policy?: StepPolicy
}): ParallelStep<TOutput, StepContext<TInput, TSteps>> =>
  // Branches are checked with the step, by `.step()`: a parallel or agent branch is refused there, by name.
  builtFrom({ ...optionsOf(options), kind: "parallel" } as ParallelStep<TOutput, StepContext<TInput, TSteps>>, "parallel(options)", options, true)
