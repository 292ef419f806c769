// Whether a pipeline can pause for a person, anywhere in it: a run without a journal must still
// keep such a pause somewhere, or no `decide` could ever continue it.
import type { PipelineGraph } from "../definition/graph.ts"
import { asksApproval } from "../definition/steps/approval.ts"
import type { AnyStep } from "../definition/steps/step.ts"

// Where a step can wait for a person: itself (a human step), a tool call its agent asks approval
// for, or a step inside it (a branch, a map's item step or pipeline, a nested pipeline's step).
const pauseIn = (path: string, step: AnyStep): string | undefined => {
  switch (step.kind) {
    case "human":
      return `human step "${path}"`
    case "agent": {
      const approved = Object.entries(step.tools).find(([, tool]) => asksApproval(tool.approval))
      return approved === undefined ? undefined : `tool "${approved[0]}" of agent "${path}", which asks for approval`
    }
    case "parallel":
      for (const [branch, unit] of Object.entries(step.branches)) {
        const found = pauseIn(`${path}.${branch}`, unit)
        if (found !== undefined) return found
      }
      return undefined
    case "map": {
      const each = step.each as AnyStep | { readonly definitions: ReadonlyMap<string, AnyStep> }
      return "definitions" in each ? pauseInSteps(`${path}[].`, each.definitions) : pauseIn(`${path}[]`, each)
    }
    case "pipeline":
      return pauseInSteps(`${path}.`, step.pipeline.definitions)
    default:
      return undefined
  }
}

const pauseInSteps = (prefix: string, steps: ReadonlyMap<string, AnyStep>): string | undefined => {
  for (const [name, step] of steps) {
    const found = pauseIn(`${prefix}${name}`, step)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Where a pipeline can pause for a person, described (`human step "approve"`, `tool "refund" of
 * agent "helper", which asks for approval`), or undefined when it never can: a run of it needs
 * somewhere to keep a pause (run/paused-runs.ts).
 *
 * @example
 * if (pausePointOf(graph) !== undefined) console.log("give this run a journal")
 */
export const pausePointOf = (graph: PipelineGraph): string | undefined => pauseInSteps("", graph.steps)
