// An agent step as a sub-chart of the pipeline machine:
//   thinking ──(tool calls)──▶ callingTools ──▶ thinking …   thinking ──(answer)──▶ finished
//   thinking ──(a call needs a person)──▶ awaitingApproval ──decide──▶ callingTools
//   thinking | callingTools ──(stop rule / run budget)──▶ stopped;  failures ──▶ failed
// The sub-chart's final states end the step; the step state's onDone then takes its edge.
import { assign, fromPromise, type AnyActorRef } from "xstate"
import type { RunError } from "../contract/errors.ts"
import { defaultPolicies, resolvePolicy, type ResolvedPolicy, type StepPolicy } from "../definition/policy.ts"
import { addUsage } from "../contract/usage.ts"
import type { AgentStep } from "../definition/steps/agent.ts"
import { parseApproval } from "../definition/steps/approval.ts"
import { servicesOf, type RunServices } from "../run/implementations.ts"
import { throughExecutor } from "../run/executor.ts"
import { visitKey } from "../run/replay.ts"
import type { AnyStep } from "../definition/step.ts"
import { defaultPrices } from "../run/prices.ts"
import {
  afterDecision,
  afterTools,
  afterTurn,
  awaitingApproval,
  beginConversation,
  stopContextOf,
  type AgentConversation,
  type AgentOutcome,
  type ToolsOutput,
  type TurnOutput,
} from "./agent-conversation.ts"
import { budgetReached, describeBudget } from "../definition/agent-stop-rules.ts"
import type { RunContext } from "./compile-machine.ts"
import type { NormalizedEdge } from "../definition/edges.ts"

// Effect is loaded with the first agent turn, not with `import "switchboard"`.
let runtime: Promise<typeof import("../run/agent/agent-run.ts")> | undefined

interface AgentGraph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy?: StepPolicy | undefined
}

/** The invoked actor names of the sub-chart (a step name never contains a dot). */
export const agentTurnActor = "agent.turn"
export const agentToolsActor = "agent.tools"

type Transition = Record<string, unknown>

/**
 * The compound state of one agent step. `routes` are the step's edge transitions (guarded by the
 * pipeline's `goes`/`stops`), taken when the sub-chart ends with an answer.
 */
export const agentState = (name: string, step: AgentStep<unknown, unknown>, edge: NormalizedEdge, routes: readonly Transition[]) => {
  const params = { step: name }
  const stopTransitions = (point: "turn" | "tools", action: string): Transition[] => [
    ...step.stop.map((rule, index) => ({
      target: "stopped",
      guard: { type: "agentStops", params: { step: name, point, index, rule: rule.name } },
      actions: [{ type: action, params }, { type: "agentEnd", params: { step: name, rule: rule.name } }],
    })),
    { target: "stopped", guard: { type: "agentRunBudget", params: { step: name, point } }, actions: [{ type: action, params }, { type: "agentEnd", params: { step: name, rule: "runBudget" } }] },
  ]
  const failed = { target: "failed", actions: [{ type: "agentError", params }] }
  const approvalTools = Object.entries(step.tools).filter(([, definition]) => definition.approval !== undefined && definition.approval !== false).map(([key]) => key)
  // Only a step with a tool that asks a person has the state where the run waits for one.
  const approval = approvalTools.length === 0 ? [] : [{ target: "awaitingApproval", guard: { type: "agentNeedsApproval" }, actions: [{ type: "agentTurn", params }] }]
  return {
    entry: [{ type: "enter", params }, { type: "agentBegin", params }],
    initial: "thinking",
    // What the verification tools need to drive the sub-chart, as JSON.
    meta: { agent: { tools: Object.keys(step.tools), approvalTools, maxToolErrors: step.maxToolErrors } },
    description: step.description ?? "An agent: the model calls tools in a loop until it answers or a stop rule fires",
    states: {
      thinking: {
        invoke: {
          id: `${name}.thinking`,
          src: agentTurnActor,
          input: params,
          onDone: [
            { target: "finished", guard: { type: "agentAnswered" }, actions: [{ type: "agentTurn", params }] },
            ...stopTransitions("turn", "agentTurn"),
            { target: "thinking", reenter: true, guard: { type: "agentInvalidAnswer" }, actions: [{ type: "agentTurn", params }] },
            ...approval,
            { target: "callingTools", actions: [{ type: "agentTurn", params }] },
          ],
          onError: [failed],
        },
      },
      ...(approvalTools.length === 0 ? {} : { awaitingApproval: {
        entry: [{ type: "agentWait", params }],
        exit: [{ type: "leave" }],
        on: {
          [`${name}.decide`]: [
            { target: "awaitingApproval", reenter: true, guard: { type: "agentMoreApprovals", params }, actions: [{ type: "agentDecide", params }] },
            { target: "callingTools", guard: { type: "agentValidDecision" }, actions: [{ type: "agentDecide", params }] },
          ],
        },
        description: "Waits for a person to approve, reject or edit a tool call",
      } }),
      callingTools: {
        invoke: {
          id: `${name}.callingTools`,
          src: agentToolsActor,
          input: params,
          onDone: [
            { target: "failed", guard: { type: "agentTooManyToolErrors", params }, actions: [{ type: "agentTools", params }, { type: "agentToolErrors", params }] },
            ...stopTransitions("tools", "agentTools"),
            { target: "thinking", actions: [{ type: "agentTools", params }] },
          ],
          onError: [failed],
        },
      },
      // The outcome stays in the context (the config stays JSON); the step's onDone reads it there.
      finished: { type: "final" },
      stopped: { type: "final" },
      failed: { type: "final" },
    },
    onDone: [
      { target: edge.stopped ?? "stopped", guard: { type: "agentEnded", params: { step: name, outcome: "stopped" } }, actions: [{ type: "agentStopped", params }] },
      { target: edge.error ?? "failed", guard: { type: "agentEnded", params: { step: name, outcome: "failed" } }, actions: [{ type: "agentFailed", params: { step: name, routed: edge.error !== undefined } }] },
      ...routes,
      { target: "failed", actions: [{ type: "unknownRoute", params }] },
    ],
  }
}

const conversationOf = (context: RunContext, step: string): AgentConversation => (context.agents?.[step] as AgentConversation)
/** The answer and chosen route of an agent step whose sub-chart just finished with one. */
export const agentAnswer = (context: RunContext, step: string): { readonly output: unknown; readonly next: string } | undefined => {
  const outcome = context.agents?.[step]?.outcome
  return outcome?.kind === "answer" ? outcome : undefined
}
const withConversation = (context: RunContext, step: string, conversation: AgentConversation) => ({ agents: { ...context.agents, [step]: conversation } })

type Args = { context: RunContext; event: { type: string; output?: unknown; error?: unknown; decision?: unknown }; system?: unknown }

/** The actors, guards and actions every agent sub-chart of a pipeline uses, by name. */
export const agentImplementations = (graph: AgentGraph) => {
  const agents = new Map<string, AgentStep<unknown, unknown>>()
  const policies = new Map<string, ResolvedPolicy>()
  for (const [name, step] of graph.steps) {
    if (step.kind !== "agent") continue
    agents.set(name, step)
    policies.set(name, resolvePolicy(`step "${name}"`, defaultPolicies.llm, graph.policy, step.policy))
  }
  if (agents.size === 0) return { actors: {}, guards: {}, actions: {} }
  const servicesFor = (system: unknown, context: RunContext): RunServices =>
    servicesOf(system as object) ?? { runId: context.runId, models: {}, record: () => {}, emit: () => {}, prices: defaultPrices }
  const parentContext = (self: AnyActorRef) => (self._parent as AnyActorRef).getSnapshot().context as RunContext

  // Guards are pure functions of the context and the event; each rebuilds the conversation the
  // action would store, so a rule sees the turn (or the tool results) that just arrived.
  // XState hands one event object to every guard of a transition, then to its actions: build the
  // next conversation once per event (and context), not once per guard.
  const built = new WeakMap<object, { readonly context: RunContext; readonly conversation: AgentConversation }>()
  const once = (args: Args, step: string, build: (conversation: AgentConversation) => AgentConversation) => {
    const known = built.get(args.event)
    if (known !== undefined && known.context === args.context) return known.conversation
    const conversation = build(conversationOf(args.context, step))
    built.set(args.event, { context: args.context, conversation })
    return conversation
  }
  const turned = (args: Args, step: string) => once(args, step, (conversation) => afterTurn(conversation, args.event.output as TurnOutput))
  const toolsRan = (args: Args, step: string) => once(args, step, (conversation) => afterTools(conversation, args.event.output as ToolsOutput))
  const after = (args: Args, point: "turn" | "tools", step: string) => (point === "turn" ? turned(args, step) : toolsRan(args, step))

  const actors = {
    [agentTurnActor]: fromPromise<TurnOutput, { step: string }>(async ({ input, signal, self, system }) => {
      const context = parentContext(self)
      const { runAgentTurn } = await (runtime ??= import("../run/agent/agent-run.ts"))
      const conversation = context.agents?.[input.step]
      const key = `${visitKey(input.step, conversation?.visit ?? 1)}#turn${(conversation?.turns ?? 0) + 1}`
      return throughExecutor(servicesFor(system, context), key, (bound) => runAgentTurn(graph, input.step, policies.get(input.step) as ResolvedPolicy, context, bound, signal))
    }),
    [agentToolsActor]: fromPromise<ToolsOutput, { step: string }>(async ({ input, signal, self, system }) => {
      const context = parentContext(self)
      const { runAgentTools } = await (runtime ??= import("../run/agent/agent-run.ts"))
      const conversation = context.agents?.[input.step]
      const key = `${visitKey(input.step, conversation?.visit ?? 1)}#tools${conversation?.turns ?? 0}`
      return throughExecutor(servicesFor(system, context), key, (bound) => runAgentTools(graph, input.step, context, bound, signal))
    }),
  }

  const guards = {
    agentAnswered: ({ event }: Args) => (event.output as TurnOutput).answer !== undefined,
    agentInvalidAnswer: ({ event }: Args) => (event.output as TurnOutput).invalid !== undefined,
    agentNeedsApproval: ({ event }: Args) => (event.output as TurnOutput).calls.some((call) => call.approval === "needed"),
    agentStops: (args: Args, params: { step: string; point: "turn" | "tools"; index: number }) => {
      const conversation = after(args, params.point, params.step)
      const rule = agents.get(params.step)?.stop[params.index]
      return rule?.fires(stopContextOf(conversation, args.context.input, args.context.steps)) === true
    },
    agentRunBudget: (args: Args, params: { step: string; point: "turn" | "tools" }) => {
      const conversation = after(args, params.point, params.step)
      return conversation.runBudget !== null && budgetReached(conversation.runBudget, addUsage(conversation.runUsage, conversation.usage), conversation.runElapsedMs)
    },
    agentTooManyToolErrors: (args: Args, params: { step: string }) => toolsRan(args, params.step).toolErrors >= (agents.get(params.step)?.maxToolErrors ?? 3),
    agentValidDecision: ({ event }: Args) => parseApproval(event.decision).success,
    agentMoreApprovals: ({ context, event }: Args, params: { step: string }) => {
      const parsed = parseApproval(event.decision)
      return parsed.success && awaitingApproval(afterDecision(conversationOf(context, params.step), parsed.data)) !== undefined
    },
    agentEnded: ({ context }: Args, params: { step: string; outcome: AgentOutcome["kind"] }) => conversationOf(context, params.step)?.outcome?.kind === params.outcome,
  }

  const actions = {
    agentBegin: assign(({ context, system }: Args, params: { step: string }) => {
      const budget = servicesOf(system as object)?.budget
      return withConversation(context, params.step, beginConversation(context.visits[params.step] ?? 1, budget ?? null))
    }),
    agentTurn: assign((args: Args, params: { step: string }) => {
      const conversation = turned(args, params.step)
      const answer = (args.event.output as TurnOutput).answer
      return withConversation(args.context, params.step, answer === undefined ? conversation : { ...conversation, outcome: { kind: "answer", ...answer } })
    }),
    agentTools: assign((args: Args, params: { step: string }) => withConversation(args.context, params.step, toolsRan(args, params.step))),
    agentToolErrors: assign(({ context }: Args, params: { step: string }) => {
      const conversation = conversationOf(context, params.step)
      const last = [...conversation.messages].reverse().find((message) => message.role === "tool" && message.isError === true)
      const error: RunError = {
        _tag: "ToolError",
        step: params.step,
        tool: last?.role === "tool" ? last.name : "",
        reason: "failed",
        retryable: false,
        message: `agent "${params.step}": ${conversation.toolErrors} tool calls in a row failed (maxToolErrors ${agents.get(params.step)?.maxToolErrors}); last: ${last?.content ?? "?"}`,
      }
      return withConversation(context, params.step, { ...conversation, outcome: { kind: "failed", error } })
    }),
    agentError: assign(({ context, event }: Args, params: { step: string }) => {
      const error = event.error as RunError
      const runError: RunError = typeof error === "object" && error !== null && "_tag" in error ? error : { _tag: "StepCodeError", step: params.step, retryable: false, message: String(error) }
      return withConversation(context, params.step, { ...conversationOf(context, params.step), outcome: { kind: "failed", error: runError } })
    }),
    agentEnd: assign(({ context }: Args, params: { step: string; rule: string }) => {
      const conversation = conversationOf(context, params.step)
      const rule = params.rule === "runBudget" && conversation.runBudget !== null ? `run budget(${describeBudget(conversation.runBudget)})` : params.rule
      return withConversation(context, params.step, { ...conversation, outcome: { kind: "stopped", rule } })
    }),
    agentWait: assign(({ context }: Args, params: { step: string }) => ({ status: "awaiting-human" as const, waiting: { step: params.step, deadline: null } })),
    agentDecide: assign(({ context, event }: Args, params: { step: string }) => {
      const parsed = parseApproval(event.decision)
      if (!parsed.success) return {}
      return withConversation(context, params.step, afterDecision(conversationOf(context, params.step), parsed.data))
    }),
    // A stopped agent ends its visit: its usage is journaled with it, so run totals include it.
    agentStopped: assign(({ context, system }: Args, params: { step: string }) => {
      const conversation = conversationOf(context, params.step)
      const rule = conversation.outcome?.kind === "stopped" ? conversation.outcome.rule : "stop"
      const services = servicesOf(system as object)
      const next = (graph.edges.get(params.step) as NormalizedEdge).stopped ?? "stopped"
      if (services?.replay?.steps.has(`${params.step}#${conversation.visit}`) !== true) {
        void services?.record({
          type: "step.finished",
          runId: services.runId,
          step: params.step,
          visit: conversation.visit,
          output: null,
          next,
          attempts: conversation.turns,
          durationMs: Date.now() - conversation.startedAt,
          usage: conversation.usage,
          at: Date.now(),
        })
      }
      return { stoppedBy: { step: params.step, rule }, last: params.step }
    }),
    agentFailed: assign(({ context, system }: Args, params: { step: string; routed: boolean }) => {
      const conversation = conversationOf(context, params.step)
      const error = conversation.outcome?.kind === "failed" ? conversation.outcome.error : ({ _tag: "StepCodeError", step: params.step, retryable: false, message: "agent failed" } as RunError)
      const services = servicesOf(system as object)
      // The model-turn actor journals its own failure; a tool-error streak ends here.
      if (error._tag === "ToolError" && services?.replay?.steps.has(`${params.step}#${conversation.visit}`) !== true) {
        void services?.record({ type: "step.failed", runId: services.runId, step: params.step, visit: conversation.visit, error, attempts: conversation.turns, durationMs: Date.now() - conversation.startedAt, usage: conversation.usage, at: Date.now() })
      }
      return { errors: { ...context.errors, [params.step]: error }, ...(params.routed ? {} : { error }) }
    }),
  }
  return { actors, guards, actions }
}
