// What the run layer lends a compiled machine through `machine.provide()`: the actor that runs
// each invoked step, the agents' actors, and the actions that journal. The compiler only names
// them (compile/compile-machine.ts).
import { fromPromise } from "xstate"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import type { RunContext, StepDone } from "../compile/run-context.ts"
import { journaledName, visitKey } from "../contract/keys.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import type { ResolvedPolicy } from "../definition/policy.ts"
import { policyOfStep } from "../definition/steps/step.ts"
import { agentImplementations } from "./agent/agent-actors.ts"
import { throughExecutor } from "./executor.ts"
import { invokerContext, noteParallelStart, type RunServices, servicesFor, servicesOf } from "./services.ts"

// Effect is loaded with the first step that runs, not with `import "switchboard"`: it is most of
// the import cost, and building or drawing a pipeline never needs it.
let stepRuntime: Promise<typeof import("./execute-step.ts")> | undefined
let parallelRuntime: Promise<typeof import("./steps/run-parallel.ts")> | undefined

/** The resolved policy of every step that runs as an actor; a bad duration throws, naming the step. */
const stepPolicies = (graph: PipelineGraph): ReadonlyMap<string, ResolvedPolicy> => {
  const policies = new Map<string, ResolvedPolicy>()
  for (const [name, step] of graph.steps) {
    if (step.kind === "human") continue
    policies.set(name, policyOfStep(`step "${name}"`, step, graph.policy))
  }
  return policies
}

/** The one actor logic every invoked step state uses: runs the step named by its input. */
const stepLogic = (graph: PipelineGraph, policies: ReadonlyMap<string, ResolvedPolicy>) =>
  fromPromise<StepDone, { step: string; branch?: string }>(async ({ input, signal, self, system }) => {
    const context = invokerContext(self)
    const services = servicesFor(system, context.runId)
    // A parallel step's branch journals (and replays) under its own path.
    const visit = context.visits[input.step] ?? 1
    if (input.branch !== undefined) {
      const { runBranch } = await (parallelRuntime ??= import("./steps/run-parallel.ts"))
      const branch = input.branch
      return throughExecutor(services, visitKey(`${input.step}.${branch}`, visit), (bound) => runBranch(graph, input.step, branch, context, bound, signal))
    }
    // A resumed run never repeats a finished visit: its journaled result stands.
    const replayed = services.replay?.steps.get(visitKey(journaledName(services, input.step), visit))
    if (replayed !== undefined) {
      if ("done" in replayed) return replayed.done
      throw replayed.error
    }
    // An engine journals the visit's outcome itself, so its replay returns it instead of running the step.
    if (graph.steps.get(input.step)?.kind === "parallel") {
      const { joinParallel } = await (parallelRuntime ??= import("./steps/run-parallel.ts"))
      return throughExecutor(services, visitKey(input.step, visit), (bound) => joinParallel(graph, input.step, context, bound, signal))
    }
    const { executeStep } = await (stepRuntime ??= import("./execute-step.ts"))
    return throughExecutor(services, visitKey(input.step, visit), (bound) =>
      executeStep(graph, input.step, policies.get(input.step) as ResolvedPolicy, context, bound, signal),
    )
  })

/** What `machine.provide()` takes for a pipeline machine. */
export type MachineImplementations = Parameters<PipelineMachine["provide"]>[0]

type ActionArgs = { readonly context: RunContext; readonly system: unknown }

/** The journaling actions the compiled chart names (`journal.*`). */
const journalingActions = {
  // Journals a parallel step's `step.started` (from its entry action, so before any branch's events).
  "journal.parallelStarted": ({ context, system }: ActionArgs, params: { step: string }) => {
    const services = servicesOf(system as object)
    if (services === undefined) return
    const step = journaledName(services, params.step)
    const visit = context.visits[params.step] ?? 1
    const at = Date.now()
    noteParallelStart(services, visitKey(step, visit), at)
    void services.record({ type: "step.started", runId: services.runId, step, visit, at })
  },
  // Journals the failure of a human step whose route threw on the decision (or named no declared
  // target), as an invoked step's failure is journaled. The route ran at once: no duration to speak of.
  "journal.routeFailed": ({ context, system }: ActionArgs, params: { step: string }) => {
    const services = servicesOf(system as object)
    const error = context.errors[params.step]
    if (services === undefined || error === undefined) return
    const visit = context.visits[params.step] ?? 1
    void services.record({ type: "step.failed", runId: services.runId, step: params.step, visit, error, attempts: 1, durationMs: 0, at: Date.now() })
  },
  // Journals a human step's expiry, so a resumed run takes the same timeout route.
  "journal.humanExpired": ({ context, system }: ActionArgs, params: { step: string }) => {
    const services = servicesOf(system as object)
    // Inside a nested pipeline the step journals under its path, as its wait did.
    if (services === undefined) return
    void services.record({
      type: "human.expired",
      runId: services.runId,
      step: journaledName(services, params.step),
      visit: context.visits[params.step] ?? 1,
      at: Date.now(),
    })
  },
}

/**
 * Everything the run layer provides to a pipeline's compiled machine:
 * `compileMachine(graph).provide(implementations(graph))`. Resolves each step's policy now, so a
 * bad duration throws (naming the step) when the pipeline is built.
 */
export const implementations = (graph: PipelineGraph): MachineImplementations => {
  const policies = stepPolicies(graph)
  const step = stepLogic(graph, policies)
  const agents = agentImplementations(graph, policies)
  // The chart names these, with the params each one reads, from the graph: XState's types cannot follow such names.
  return {
    actors: { ...Object.fromEntries([...graph.steps.keys()].map((name) => [name, step])), ...agents.actors },
    actions: { ...journalingActions, ...agents.actions },
  } as MachineImplementations
}

export type { RunServices }
