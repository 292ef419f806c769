// The composition root: the only file that binds the three layers. A definition is validated,
// compiled to a machine (names only), given the run layer's implementations, and wrapped in the
// run API.
import type { z } from "zod"
import { compileMachine } from "./compile/compile-machine.ts"
import { PipelineDefinitionError } from "./contract/errors.ts"
import type { Budget } from "./definition/agent-stop-rules.ts"
import { stepProblems } from "./definition/check-steps.ts"
import type { EdgesOf } from "./definition/edges.ts"
import type { StepPolicy } from "./definition/policy.ts"
import type { AnyStep, Step, StepContext } from "./definition/steps/step.ts"
import { checkPipelineOptions, checkStepName, validateGraph } from "./definition/validate.ts"
import { createRunner, type Pipeline } from "./run/create-runner.ts"
import { implementations } from "./run/implementations.ts"

/**
 * A pipeline under construction: add steps in order with `.step()`, then close it with `.edges()`.
 * Each step's functions see the input and the outputs of the steps added before it, typed.
 *
 * @example
 * const p = pipeline({ id: "shout", input: z.object({ text: z.string() }) })
 *   .step("upper", fn(({ input }) => input.text.toUpperCase()))
 *   .edges({ upper: "done" })
 */
export interface PipelineBuilder<TInput, TSteps> {
  /**
   * Adds a step. Its name must be new; its functions read earlier steps' outputs, typed. Throws a
   * {@link PipelineDefinitionError} naming the step and the field when the name or the definition is wrong.
   */
  step<const TName extends string, TOutput>(
    // A repeated name fails with a message type naming it, not with `never`.
    name: TName extends keyof TSteps ? `step "${TName}" is already defined: give each step its own name` : TName,
    step: Step<TOutput, StepContext<TInput, TSteps>>,
  ): PipelineBuilder<TInput, TSteps & { readonly [K in TName]: TOutput }>
  /**
   * Connects every step and builds the pipeline. Throws a {@link PipelineDefinitionError} naming
   * the steps when an edge is missing, a step is unreachable or a loop has no stop rule.
   */
  edges(edges: EdgesOf<TInput, TSteps>): Pipeline<TInput, Flatten<TSteps>>
}

type Flatten<T> = { [K in keyof T]: T[K] } & {}

/**
 * Options of a pipeline: its id, the input schema, and a default policy for its steps.
 *
 * @example
 * const options: PipelineOptions<{ ticket: string }> = { id: "triage", input: z.object({ ticket: z.string() }) }
 */
export interface PipelineOptions<TInput> {
  readonly id: string
  readonly input: z.ZodType<TInput>
  readonly description?: string
  /** Defaults for every step (a step's own policy wins field by field). */
  readonly policy?: StepPolicy
  /** A budget for each run (a run's `budget` option wins): an agent step that reaches it stops the run. */
  readonly budget?: Budget
}

/**
 * Starts a pipeline: a typed graph of steps that compiles to an XState machine.
 *
 * @example
 * const triage = pipeline({ id: "support-triage", input: z.object({ ticket: z.string() }) })
 *   .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
 *   .step("answer", llm({ model: "fast", prompt: ({ steps }) => `Answer a ${steps.classify?.kind} ticket` }))
 *   .edges({ classify: "answer", answer: "done" })
 */
export const pipeline = <TInput>(options: PipelineOptions<TInput>): PipelineBuilder<TInput, {}> => {
  // Checked as plain JavaScript passes them (definition/check-arguments.ts): a build never throws a TypeError.
  const problems = checkPipelineOptions(options)
  if (problems.length > 0) {
    const id = (options as { id?: unknown } | null | undefined)?.id
    throw new PipelineDefinitionError(
      typeof id === "string" ? id : "(no id)",
      problems.map((message) => ({ steps: [], message })),
    )
  }
  return builder(options, new Map())
}

const builder = <TInput, TSteps>(options: PipelineOptions<TInput>, steps: ReadonlyMap<string, AnyStep>): PipelineBuilder<TInput, TSteps> => ({
  step(name, step) {
    const problem = checkStepName(name, steps)
    if (problem !== undefined) throw new PipelineDefinitionError(options.id, [{ steps: typeof name === "string" ? [name] : [], message: problem }])
    const problems = stepProblems(`step "${name}"`, step)
    if (problems.length > 0)
      throw new PipelineDefinitionError(
        options.id,
        problems.map((message) => ({ steps: [name], message })),
      )
    return builder(options, new Map([...steps, [name, step as AnyStep]]))
  },
  edges(edges) {
    const { edges: normalized, problems } = validateGraph(steps, edges)
    if (problems.length > 0) throw new PipelineDefinitionError(options.id, problems)
    const graph = { id: options.id, steps, edges: normalized, policy: options.policy, budget: options.budget }
    let machine
    try {
      machine = compileMachine(graph).provide(implementations(graph))
    } catch (error) {
      // Policies are resolved while compiling: a bad duration names its step.
      throw new PipelineDefinitionError(options.id, [{ steps: [], message: error instanceof Error ? error.message : String(error) }])
    }
    return createRunner(options, graph, machine)
  },
})
