import { fromPromise, type AnyActorRef } from "xstate"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { RunContext, StepDone } from "../compile/compile-machine.ts"
import { defaultPrices } from "./prices.ts"
import { defaultPolicies, resolvePolicy, type ResolvedPolicy, type StepPolicy } from "../definition/policy.ts"
import type { AnyStep } from "../definition/step.ts"
import type { Budget } from "../definition/agent-stop-rules.ts"
import { visitKey } from "./replay.ts"
import type { RunServices } from "./services.ts"
import { throughExecutor } from "./executor.ts"
import { journaledName } from "./services.ts"

export type { RunServices } from "./services.ts"

// Effect is loaded with the first step that runs, not with `import "switchboard"`: it is most of
// the import cost, and building or drawing a pipeline never needs it.
let runtime: Promise<typeof import("./execute-step.ts")> | undefined

/** The graph as the step runtime needs it. */
export interface ExecutableGraph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy: StepPolicy | undefined
  /** The pipeline's run-level budget, checked by agent steps. */
  readonly budget?: Budget | undefined
}

// Runs attach their services to the XState system they create; a machine driven with plain
// XState (no run) gets defaults, so `createActor(p.machine)` still works.
const servicesBySystem = new WeakMap<object, RunServices>()

/** The services a run attached to this actor system, if any. */
export const servicesOf = (system: object): RunServices | undefined => servicesBySystem.get(system)

/** Attaches a run's services to an actor system before the actor starts. */
export const attachServices = (system: object, services: RunServices): void => {
  servicesBySystem.set(system, services)
}

/** The one actor logic every invoked step state uses: runs the step named by its input. */
export const stepLogic = (graph: ExecutableGraph) => {
  const policies = new Map<string, ResolvedPolicy>()
  for (const [name, step] of graph.steps) {
    if (step.kind !== "human") policies.set(name, resolvePolicy(`step "${name}"`, (defaultPolicies as Partial<Record<string, StepPolicy>>)[step.kind === "agent" ? "llm" : step.kind], graph.policy, step.policy))
  }
  return fromPromise<StepDone, { step: string; branch?: string }>(async ({ input, signal, self, system }) => {
    const context = (self._parent as AnyActorRef | undefined)?.getSnapshot().context as RunContext
    const services = servicesBySystem.get(system) ?? { runId: context.runId, models: {}, record: () => {}, emit: () => {}, prices: defaultPrices }
    // A parallel step's branch journals (and replays) under its own path.
    const visit = context.visits[input.step] ?? 1
    if (input.branch !== undefined) {
      const { runBranch } = await import("./steps/run-parallel.ts")
      const branch = input.branch
      return throughExecutor(services, visitKey(`${input.step}.${branch}`, visit), (bound) => runBranch(graph, input.step, branch, context, bound, signal))
    }
    // A resumed run never repeats a finished visit: its journaled result stands.
    const replayed = services.replay?.steps.get(visitKey(journaledName(services, input.step), context.visits[input.step] ?? 1))
    if (replayed !== undefined) {
      if ("done" in replayed) return replayed.done
      throw replayed.error
    }
    // An engine journals the visit's outcome itself, so its replay returns it instead of running the step.
    if (graph.steps.get(input.step)?.kind === "parallel") {
      const { joinParallel } = await import("./steps/run-parallel.ts")
      return throughExecutor(services, visitKey(input.step, visit), (bound) => joinParallel(graph, input.step, context, bound, signal))
    }
    const { executeStep } = await (runtime ??= import("./execute-step.ts"))
    return throughExecutor(services, visitKey(input.step, visit), (bound) => executeStep(graph, input.step, policies.get(input.step) as ResolvedPolicy, context, bound, signal))
  })
}

