import type { StepPolicy } from "../policies/policy.ts"
import type { ParallelStep } from "./fanout-step.ts"
import type { AnyStep, OutputOf, Step, StepContext } from "./step.ts"
import { checkUnit } from "./unit.ts"

/**
 * The outputs of a parallel step's branches, by branch name.
 *
 * @example
 * type Fields = BranchOutputs<{ title: FnStep<string, unknown>; total: FnStep<number, unknown> }> // { title: string; total: number }
 */
export type BranchOutputs<TBranches> = { readonly [TBranch in keyof TBranches]: OutputOf<TBranches[TBranch]> }

/**
 * A step that runs its branches at the same time: each branch is a step (or a nested pipeline,
 * see {@link subpipeline}) in its own region of an XState parallel state. The output is the record
 * of every branch's output, or what `join` makes of it. Each branch writes only its own output,
 * so branches share no mutable state; each is journaled as `<step>.<branch>`, and a resumed run
 * re-runs only the branches that had not finished.
 *
 * @example
 * const extract = parallel({
 *   branches: {
 *     title: llm({ model: "fast", prompt: ({ input }: { input: { text: string } }) => `Title of: ${input.text}` }),
 *     words: fn(({ input }: { input: { text: string } }) => input.text.split(" ").length),
 *   },
 *   join: ({ title, words }) => ({ title, words }),
 * })
 */
export const parallel = <
  // biome-ignore lint: any lets each branch infer its own output (unknown would erase it)
  const TBranches extends Readonly<Record<string, Step<any, StepContext<TInput, TSteps>>>>,
  TOutput = BranchOutputs<TBranches>,
  TInput = never,
  TSteps = never,
>(options: {
  readonly branches: TBranches
  /** Maps the record of branch outputs to the step's output (default: the record itself). */
  readonly join?: (outputs: BranchOutputs<TBranches>, context: StepContext<TInput, TSteps>) => TOutput
  readonly description?: string
  /** Defaults for the branches (a branch's own policy wins field by field). */
  readonly policy?: StepPolicy
}): ParallelStep<TOutput, StepContext<TInput, TSteps>> => {
  const names = Object.keys(options.branches)
  if (names.length === 0) throw new TypeError("parallel({ branches }): give at least one branch")
  for (const name of names) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) throw new TypeError(`parallel branch "${name}" must start with a letter and use only letters, digits, "_" or "-"`)
    checkUnit(`parallel branch "${name}"`, options.branches[name] as AnyStep)
  }
  return { kind: "parallel", ...options } as ParallelStep<TOutput, StepContext<TInput, TSteps>>
}
