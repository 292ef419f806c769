import type { ParallelStep } from "../definition/steps/fanout-step.ts"
import type { RunContext, StepDone } from "./run-context.ts"

/** The pieces of a step state the compiler already built: entry actions, routes, error routes. */
export interface StateParts {
  readonly entry: readonly unknown[]
  readonly routes: readonly unknown[]
  readonly onError: readonly unknown[]
  readonly description: string | undefined
}

/**
 * The state of a parallel step: a parallel state `branches` with one region per branch (each
 * invokes its branch and ends in a final state), then `joining`, which invokes the step itself
 * to join the branch outputs and choose the route. Routes and error routes hang on the step's
 * own state, so their targets are the pipeline's steps; a failing branch takes the error route
 * at once, which leaves the state and cancels the other branches.
 */
export const parallelState = (name: string, step: ParallelStep<unknown, unknown>, parts: StateParts) => {
  const branches = Object.keys(step.branches)
  const region = (branch: string) => ({
    initial: "running",
    states: {
      running: {
        invoke: {
          id: `${name}.${branch}`,
          src: name,
          input: { step: name, branch },
          onDone: { target: "finished", actions: [{ type: "branchDone", params: { step: name, branch } }] },
        },
      },
      finished: { type: "final" },
    },
  })
  return {
    entry: [...parts.entry, { type: "journal.parallelStarted", params: { step: name } }],
    // The joined output is in `steps` now: the branch outputs need not stay in every snapshot.
    exit: [{ type: "branchesDone", params: { step: name } }],
    initial: "branches",
    states: {
      branches: { type: "parallel", states: Object.fromEntries(branches.map((branch) => [branch, region(branch)])), onDone: "joining" },
      joining: { invoke: { id: name, src: name, input: { step: name } } },
    },
    on: {
      [`xstate.done.actor.${name}`]: parts.routes,
      [`xstate.error.actor.${name}`]: parts.onError,
      ...Object.fromEntries(branches.map((branch) => [`xstate.error.actor.${name}.${branch}`, parts.onError])),
    },
    ...(parts.description === undefined ? {} : { description: parts.description }),
  }
}

/** The context update of a finished branch: its output under `step.branch`. */
export const branchOutput = (context: RunContext, event: unknown, params: { readonly step: string; readonly branch: string }) => ({
  branches: { ...context.branches, [`${params.step}.${params.branch}`]: (event as { output: StepDone }).output.output },
})

/** The context update when a parallel step is left: its branch outputs are dropped. */
export const withoutBranches = (context: RunContext, step: string) => ({
  branches: Object.fromEntries(Object.entries(context.branches ?? {}).filter(([key]) => !key.startsWith(`${step}.`))),
})
