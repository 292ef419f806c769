// The run layer's half of an agent step: the two actors its sub-chart invokes (a model turn and a
// tool batch, each through the run's executor), and the actions that read the run's services or
// journal. The sub-chart itself, its guards and its pure actions are compile/agent-state.ts.
import { assign, fromPromise } from "xstate"
import type { ToolsOutput, TurnOutput } from "../../compile/agent-conversation.ts"
import { beginConversation } from "../../compile/agent-conversation.ts"
import { agentFailure, agentToolsActor, agentTurnActor, conversationOf, withConversation } from "../../compile/agent-state.ts"
import type { RunContext } from "../../compile/run-context.ts"
import { visitKey } from "../../contract/keys.ts"
import type { PipelineGraph } from "../../definition/graph.ts"
import type { ResolvedPolicy } from "../../definition/policy.ts"
import { throughExecutor } from "../executor.ts"
import { invokerContext, servicesFor, servicesOf } from "../services.ts"

// Effect is loaded with the first agent turn, not with `import "switchboard"`.
let agentRuntime: Promise<typeof import("./agent-run.ts")> | undefined

type Args = { readonly context: RunContext; readonly system?: unknown }

/** The actors and run-time actions of every agent step of a pipeline, by the names the chart uses. */
export const agentImplementations = (graph: PipelineGraph, policies: ReadonlyMap<string, ResolvedPolicy>) => {
  if (![...graph.steps.values()].some((step) => step.kind === "agent")) return { actors: {}, actions: {} }

  const actors = {
    [agentTurnActor]: fromPromise<TurnOutput, { step: string }>(async ({ input, signal, self, system }) => {
      const context = invokerContext(self)
      const { runAgentTurn } = await (agentRuntime ??= import("./agent-run.ts"))
      const conversation = context.agents?.[input.step]
      const key = `${visitKey(input.step, conversation?.visit ?? 1)}#turn${(conversation?.turns ?? 0) + 1}`
      return throughExecutor(servicesFor(system, context.runId), key, (bound) =>
        runAgentTurn(graph, input.step, policies.get(input.step) as ResolvedPolicy, context, bound, signal),
      )
    }),
    [agentToolsActor]: fromPromise<ToolsOutput, { step: string }>(async ({ input, signal, self, system }) => {
      const context = invokerContext(self)
      const { runAgentTools } = await (agentRuntime ??= import("./agent-run.ts"))
      const conversation = context.agents?.[input.step]
      const key = `${visitKey(input.step, conversation?.visit ?? 1)}#tools${conversation?.turns ?? 0}`
      return throughExecutor(servicesFor(system, context.runId), key, (bound) => runAgentTools(graph, input.step, context, bound, signal))
    }),
  }

  const actions = {
    // The run-level budget (run option, else the pipeline's) comes with the run's services.
    agentBegin: assign(({ context, system }: Args, params: { step: string }) => {
      const budget = servicesOf(system as object)?.budget
      return withConversation(context, params.step, beginConversation(context.visits[params.step] ?? 1, budget ?? null))
    }),
    // A stopped agent ends its visit: its usage is journaled with it, so run totals include it.
    "journal.agentStopped": ({ context, system }: Args, params: { step: string }) => {
      const services = servicesOf(system as object)
      const conversation = conversationOf(context, params.step)
      if (services === undefined || services.replay?.steps.has(visitKey(params.step, conversation.visit)) === true) return
      void services.record({
        type: "step.finished",
        runId: services.runId,
        step: params.step,
        visit: conversation.visit,
        output: null,
        next: graph.edges.get(params.step)?.stopped ?? "stopped",
        attempts: conversation.turns,
        durationMs: Date.now() - conversation.startedAt,
        usage: conversation.usage,
        at: Date.now(),
      })
    },
    // The model-turn actor journals its own failure; a tool-error streak ends here.
    "journal.agentFailed": ({ context, system }: Args, params: { step: string }) => {
      const services = servicesOf(system as object)
      const conversation = conversationOf(context, params.step)
      const error = agentFailure(context, params.step)
      if (services === undefined || error._tag !== "ToolError" || services.replay?.steps.has(visitKey(params.step, conversation.visit)) === true) return
      void services.record({
        type: "step.failed",
        runId: services.runId,
        step: params.step,
        visit: conversation.visit,
        error,
        attempts: conversation.turns,
        durationMs: Date.now() - conversation.startedAt,
        usage: conversation.usage,
        at: Date.now(),
      })
    },
  }
  return { actors, actions }
}
