import type { AnyStateMachine } from "xstate"
import type { z } from "zod"
import type { PipelineStructure } from "../contract/events.ts"
import type { Budget } from "./agent-stop-rules.ts"
import type { NormalizedEdge } from "./edges.ts"
import type { StepPolicy } from "./policy.ts"
import type { AnyStep } from "./steps/step.ts"

/**
 * A validated pipeline as data: its steps in declaration order and each one's normalized edge.
 * The compiler turns it into a machine; the run layer reads it to run each step.
 *
 * @example
 * const first = (graph: PipelineGraph) => graph.steps.keys().next().value
 */
export interface PipelineGraph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy: StepPolicy | undefined
  /** The pipeline's run-level budget, checked by agent steps. */
  readonly budget?: Budget | undefined
}

/**
 * What a built pipeline is, apart from the ways to run it: what steps, diagrams and checks read.
 * Every `Pipeline` is one.
 *
 * @example
 * const names = (p: PipelineDefinition<unknown, Record<string, unknown>>) => p.stepNames.join(", ")
 */
export interface PipelineDefinition<TInput, TSteps> {
  readonly id: string
  readonly description: string | undefined
  readonly input: z.ZodType<TInput>
  /** Step names in declaration order; the first is where runs start. */
  readonly stepNames: ReadonlyArray<keyof TSteps & string>
  /** The compiled XState v5 machine, with the run layer's implementations provided. */
  readonly machine: AnyStateMachine
  /** The graph as data: each step's kind, targets and stop rules (what a resume compares). */
  readonly structure: PipelineStructure
  /** Each step's definition (kind, policy, schemas), by name in declaration order: for checks and tools. */
  readonly definitions: ReadonlyMap<keyof TSteps & string, AnyStep>
  /** Phantom: the step outputs, for type helpers. */
  readonly "~steps"?: TSteps
}
