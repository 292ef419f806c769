import type { RunContext, StepDone } from "../../compile/run-context.ts"
import { serializeStepError, thrownIn, undeclaredTarget } from "../../contract/errors.ts"
import { journaledName } from "../../contract/keys.ts"
import type { NormalizedEdge } from "../../definition/edges.ts"
import type { PipelineGraph } from "../../definition/graph.ts"
import type { ParallelStep } from "../../definition/steps/fanout-step.ts"
import type { AnyStep } from "../../definition/steps/step.ts"
import { executeStep } from "../execute-step.ts"
import { outputRefusal } from "../json-values.ts"
import type { RunServices } from "../services.ts"
import { parallelStartedAt } from "../services.ts"
import { runUnit, unitPolicy } from "./run-unit.ts"

/** Runs one branch of a parallel step as its own journaled step `<step>.<branch>`. */
export const runBranch = async (
  graph: PipelineGraph,
  step: string,
  branch: string,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
): Promise<StepDone> => {
  const definition = graph.steps.get(step) as ParallelStep<unknown, unknown>
  const unit = definition.branches[branch] as AnyStep
  const path = journaledName(services, `${step}.${branch}`)
  const resolved = unitPolicy(path, unit, graph.policy, definition.policy)
  const run = () =>
    runUnit(unit, path, context.visits[step] ?? 1, context.input, context.steps, { pipeline: graph.policy, resolved }, services, signal, executeStep)
  if (definition.onBranchError !== "collect") return { output: await run(), next: "" }
  // Collected: a failed branch is a result for the join, not the step's failure (a cancelled one still ends it).
  try {
    return { output: { ok: true, value: await run() }, next: "" }
  } catch (error) {
    const failure = serializeStepError(path, error)
    if (failure._tag === "CancelledError" || failure._tag === "JournalError") throw error
    return { output: { ok: false, error: failure }, next: "" }
  }
}

/**
 * Ends a parallel step once every branch finished: joins the branch outputs, chooses the route
 * and journals `step.finished` (or `step.failed` when the join or the route throws).
 */
export const joinParallel = async (graph: PipelineGraph, step: string, context: RunContext, services: RunServices, signal: AbortSignal): Promise<StepDone> => {
  const definition = graph.steps.get(step) as ParallelStep<unknown, unknown>
  const edge = graph.edges.get(step) as NormalizedEdge
  const name = journaledName(services, step)
  const visit = context.visits[step] ?? 1
  const started = parallelStartedAt(services, `${name}#${visit}`)
  const base = { runId: services.runId, step: name, visit }
  const outputs = Object.fromEntries(Object.keys(definition.branches).map((branch) => [branch, context.branches?.[`${step}.${branch}`]]))
  const stepContext = { input: context.input, steps: context.steps, visit, runId: services.runId, signal }
  let done: StepDone
  try {
    const joined = definition.join === undefined ? outputs : await definition.join(outputs, stepContext)
    // As for any step: nothing returned is null, and a value a journal cannot keep fails the step.
    const output = joined === undefined ? null : joined
    const next = edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output, input: context.input, steps: context.steps, visit })
    done = { output, next }
  } catch (thrown) {
    const error = serializeStepError(name, thrownIn(name, "join", thrown))
    await services.record({ type: "step.failed", ...base, error, attempts: 1, durationMs: Date.now() - started, at: Date.now() })
    throw error
  }
  if (!edge.targets.includes(done.next)) {
    const error = undeclaredTarget(name, done.next, edge.targets)
    await services.record({ type: "step.failed", ...base, error, attempts: 1, durationMs: Date.now() - started, at: Date.now() })
    throw error
  }
  const refused = outputRefusal(name, step, done.output)
  if (refused !== undefined) {
    await services.record({ type: "step.failed", ...base, error: refused, attempts: 1, durationMs: Date.now() - started, at: Date.now() })
    throw refused
  }
  await services.record({ type: "step.finished", ...base, output: done.output, next: done.next, attempts: 1, durationMs: Date.now() - started, at: Date.now() })
  return done
}
