import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { PipelineDefinition } from "../graph.ts"
import type { StepPolicy } from "../policy.ts"
import type { PipelineStep } from "./fanout-step.ts"
import type { StepContext } from "./step.ts"

/**
 * What a subpipeline's `input` may return: the child's input with its arrays and objects
 * read-only, so an earlier step's output (a map's `readonly T[]`) passes as it is; the child's
 * schema still checks it at run time.
 *
 * @example
 * const summaries: ReadonlyInput<{ summaries: string[] }> = { summaries: steps.summaries ?? [] }
 */
export type ReadonlyInput<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer Item)[]
    ? readonly ReadonlyInput<Item>[]
    : T extends object
      ? { readonly [Key in keyof T]: ReadonlyInput<T[Key]> }
      : T

/**
 * A step that runs a whole pipeline: `input` maps this run's context to the child's input (typed
 * by the child's input schema); the output is the output of the child step that routed to `done`.
 * The child's steps appear in this run's events and journal under `<step>.<child step>`; a
 * cancelled run cancels the child; a failed (or stopped) child fails this step, which its `error`
 * edge can route. A child with human steps is rejected: it could not receive the decision.
 *
 * @example
 * const parent = pipeline({ id: "parent", input: z.object({ ticket: z.string() }) })
 *   .step("triage", subpipeline(triage, { input: ({ input }) => ({ ticket: input.ticket }) }))
 *   .edges({ triage: "done" })
 */
export const subpipeline = <TChildInput, TChildSteps, TInput = never, TSteps = never>(
  child: PipelineDefinition<TChildInput, TChildSteps>,
  options: {
    readonly input: (context: StepContext<TInput, TSteps>) => NoInfer<ReadonlyInput<TChildInput>>
    readonly description?: string
    readonly policy?: StepPolicy
  },
): PipelineStep<TChildSteps[keyof TChildSteps], StepContext<TInput, TSteps>> =>
  // The child is checked with the step, by `.step()`: a child with human steps is refused there.
  builtFrom(
    { ...optionsOf(options), kind: "pipeline", pipeline: child } as unknown as PipelineStep<TChildSteps[keyof TChildSteps], StepContext<TInput, TSteps>>,
    "subpipeline(child, options)",
    options,
    true,
  )
