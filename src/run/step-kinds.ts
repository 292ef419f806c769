// The table of step runners: what runs a visit of each step kind. It is keyed by `StepKind`
// (definition/steps/step.ts), so a kind added there without an entry here does not compile.
import { ConfigurationError } from "../contract/errors.ts"
import type { AnyStep, StepKind } from "../definition/steps/step.ts"
import type { StepRun } from "./services.ts"
import { runFn, runProgram } from "./steps/run-code.ts"
import { runLlm } from "./steps/run-llm.ts"
import { runMap } from "./steps/run-map.ts"
import { runNested } from "./steps/run-nested.ts"
import { runRetrieve } from "./steps/run-retrieve.ts"
import { runTool } from "./steps/run-tool.ts"

type StepOfKind<TKind extends StepKind> = Extract<AnyStep, { readonly kind: TKind }>

/**
 * Runs one visit of a step of one kind: its attempts go through `stepRun.scope` (run/attempt.ts).
 * Resolves with the step's output; rejects with a step error.
 *
 * @example
 * const runEcho: StepRunner<FnStep<unknown, StepContext<unknown, Record<string, unknown>>>> = (step, stepRun) => runFn(step, stepRun)
 */
export type StepRunner<TStep> = (step: TStep, stepRun: StepRun) => Promise<unknown>

// Kinds whose visit is a sub-chart of the machine rather than one invoked actor.
const notInvoked =
  (why: string): StepRunner<AnyStep> =>
  (step, { name }) =>
    Promise.reject(new ConfigurationError({ step: name, retryable: false, message: `${step.kind} step "${name}" ${why}` }))

/**
 * The runner of every step kind.
 *
 * @example
 * const output = await stepRunners.fn(step, stepRun)
 */
export const stepRunners: { readonly [TKind in StepKind]: StepRunner<StepOfKind<TKind>> } = {
  fn: runFn,
  llm: runLlm,
  tool: runTool,
  retrieve: runRetrieve,
  map: (step, stepRun) => runProgram(stepRun.name, runMap(step, stepRun), stepRun.scope.signal),
  pipeline: (step, stepRun) => runProgram(stepRun.name, runNested(step, stepRun), stepRun.scope.signal),
  human: notInvoked("waits for a decision in its own state; it is never invoked"),
  agent: notInvoked("runs as a sub-chart of model turns and tool calls; it is never invoked as one actor"),
  parallel: notInvoked("runs as branches of a parallel state, not as one actor"),
}

/**
 * Runs a visit of `step` with the runner of its kind.
 *
 * @example
 * const output = await runStepKind(graph.steps.get("classify"), stepRun)
 */
export const runStepKind = (step: AnyStep, stepRun: StepRun): Promise<unknown> => (stepRunners[step.kind] as StepRunner<AnyStep>)(step, stepRun)
