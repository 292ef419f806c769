// An agent step as a sub-chart of the pipeline machine:
//   thinking ──(tool calls)──▶ callingTools ──▶ thinking …   thinking ──(answer)──▶ finished
//   thinking ──(a call needs a person)──▶ awaitingApproval ──decide──▶ callingTools
//   awaitingApproval ──(its deadline passes: the call is refused)──▶ callingTools
//   thinking | callingTools ──(stop rule / run budget)──▶ stopped;  failures ──▶ failed
// The sub-chart's final states end the step; the step state's onDone then takes its edge.
import { assign } from "xstate"
import { type RunError, serializeStepError } from "../contract/errors.ts"
import { visitKey } from "../contract/keys.ts"
import { addUsage } from "../contract/usage.ts"
import { budgetReached, describeBudget } from "../definition/agent-stop-rules.ts"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { StepPolicy } from "../definition/policy.ts"
import { type AgentStep, approvalToolsOf, timedApprovalToolsOf } from "../definition/steps/agent.ts"
import { approvalTimeoutMs, parseApproval } from "../definition/steps/approval.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import {
  type AgentConversation,
  type AgentOutcome,
  afterDecision,
  afterExpiry,
  afterTools,
  afterTurn,
  awaitingApproval,
  beginConversation,
  stopContextOf,
  type ToolsOutput,
  type TurnOutput,
} from "./agent-conversation.ts"
import { machineEvents, type RunContext, routedErrorFor } from "./run-context.ts"

interface AgentGraph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy?: StepPolicy | undefined
}

/** The invoked actor names of the sub-chart (a step name never contains a dot). */
export const agentTurnActor = "agent.turn"
export const agentToolsActor = "agent.tools"

/** The name of the delay after which an agent's pending approval expires. */
export const approvalDelayOf = (step: string): string => `${step}.approval`

/** `4h`, `90s`, `300ms`: how the model is told the deadline it missed. */
const describeMs = (ms: number): string => {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

type Transition = Record<string, unknown>

/**
 * The compound state of one agent step. `routes` are the step's edge transitions (guarded by the
 * pipeline's `goes`/`stops`), taken when the sub-chart ends with an answer.
 */
export const agentState = (name: string, step: AgentStep<unknown, unknown>, edge: NormalizedEdge, routes: readonly Transition[]) => {
  const params = { step: name }
  const stopTransitions = (point: "turn" | "tools", action: string): Transition[] => [
    // Only where the rule can fire (`StopRule.points`); `index` stays the rule's place in `step.stop`.
    ...step.stop.flatMap((rule, index) =>
      rule.points !== undefined && !rule.points.includes(point)
        ? []
        : [
            {
              target: "stopped",
              guard: { type: "agentStops", params: { step: name, point, index, rule: rule.name } },
              actions: [
                { type: action, params },
                { type: "agentEnd", params: { step: name, rule: rule.name } },
              ],
            },
          ],
    ),
    {
      target: "stopped",
      guard: { type: "agentRunBudget", params: { step: name, point } },
      actions: [
        { type: action, params },
        { type: "agentEnd", params: { step: name, rule: "runBudget" } },
      ],
    },
  ]
  const failed = { target: "failed", actions: [{ type: "agentError", params }] }
  const approvalTools = approvalToolsOf(step)
  const approvalTimeouts = timedApprovalToolsOf(step)
  // Only a step with a tool that asks a person has the state where the run waits for one.
  const approval =
    approvalTools.length === 0 ? [] : [{ target: "awaitingApproval", guard: { type: "agentNeedsApproval" }, actions: [{ type: "agentTurn", params }] }]
  // A pause whose deadline passes refuses the call (journaled like a human step's expiry) and
  // goes on as a rejection would: to the next call that needs a person, or to the tools.
  const expiry = [
    { type: "agentExpire", params },
    { type: "journal.humanExpired", params },
  ]
  const timeout = [
    { target: "awaitingApproval", reenter: true, guard: { type: "agentMoreAfterExpiry", params }, actions: expiry },
    { target: "callingTools", guard: { type: "agentApprovalTimed", params }, actions: expiry },
  ]
  return {
    entry: [
      { type: "enter", params },
      { type: "agentBegin", params },
    ],
    initial: "thinking",
    // What the verification tools need to drive the sub-chart, as JSON.
    meta: {
      agent: {
        tools: Object.keys(step.tools),
        approvalTools,
        ...(approvalTimeouts.length === 0 ? {} : { approvalTimeouts }),
        maxToolErrors: step.maxToolErrors,
      },
    },
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
      ...(approvalTools.length === 0
        ? {}
        : {
            awaitingApproval: {
              entry: [{ type: "agentWait", params }],
              exit: [{ type: "leave" }],
              on: {
                [machineEvents.decide(name)]: [
                  { target: "awaitingApproval", reenter: true, guard: { type: "agentMoreApprovals", params }, actions: [{ type: "agentDecide", params }] },
                  { target: "callingTools", guard: { type: "agentValidDecision" }, actions: [{ type: "agentDecide", params }] },
                ],
                ...(approvalTimeouts.length === 0 ? {} : { [machineEvents.expire(name)]: timeout }),
              },
              ...(approvalTimeouts.length === 0 ? {} : { after: { [approvalDelayOf(name)]: timeout } }),
              description:
                approvalTimeouts.length === 0
                  ? "Waits for a person to approve, reject or edit a tool call"
                  : `Waits for a person to approve, reject or edit a tool call; past the deadline (${approvalTimeouts.join(", ")}) the call is refused`,
            },
          }),
      callingTools: {
        invoke: {
          id: `${name}.callingTools`,
          src: agentToolsActor,
          input: params,
          onDone: [
            {
              target: "failed",
              guard: { type: "agentTooManyToolErrors", params },
              actions: [
                { type: "agentTools", params },
                { type: "agentToolErrors", params },
              ],
            },
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
      {
        target: edge.stopped ?? "stopped",
        guard: { type: "agentEnded", params: { step: name, outcome: "stopped" } },
        actions: [
          { type: "journal.agentStopped", params },
          { type: "agentStopped", params },
        ],
      },
      {
        target: edge.error ?? "failed",
        guard: { type: "agentEnded", params: { step: name, outcome: "failed" } },
        actions: [
          { type: "journal.agentFailed", params },
          { type: "agentFailed", params: { step: name, routed: edge.error !== undefined, ...(edge.error === undefined ? {} : { to: edge.error }) } },
        ],
      },
      ...routes,
      { target: "failed", actions: [{ type: "unknownRoute", params }] },
    ],
  }
}

/** The conversation of an agent step's latest visit. */
export const conversationOf = (context: RunContext, step: string): AgentConversation => context.agents?.[step] as AgentConversation
/** The answer and chosen route of an agent step whose sub-chart just finished with one. */
export const agentAnswer = (context: RunContext, step: string): { readonly output: unknown; readonly next: string } | undefined => {
  const outcome = context.agents?.[step]?.outcome
  return outcome?.kind === "answer" ? outcome : undefined
}
/** The context update that stores an agent step's conversation. */
export const withConversation = (context: RunContext, step: string, conversation: AgentConversation) => ({
  agents: { ...context.agents, [step]: conversation },
})

type Args = { context: RunContext; event: { type: string; output?: unknown; error?: unknown; decision?: unknown }; system?: unknown }

/** The error an agent step's visit ended with (its sub-chart reached `failed`). */
export const agentFailure = (context: RunContext, step: string): RunError => {
  const outcome = conversationOf(context, step).outcome
  return outcome?.kind === "failed" ? outcome.error : { _tag: "StepCodeError", step, retryable: false, message: "agent failed" }
}

/** The guards and pure actions every agent sub-chart of a pipeline uses, by name (the actors are the run layer's). */
export const agentImplementations = (graph: AgentGraph) => {
  const agents = new Map<string, AgentStep<unknown, unknown>>()
  for (const [name, step] of graph.steps) if (step.kind === "agent") agents.set(name, step)
  if (agents.size === 0) return { guards: {}, actions: {}, delays: {} }
  // The deadline of the call a pause waits on: its tool's approval timeout, else the agent's default.
  const approvalMsOf = (step: string, call: { readonly name: string } | undefined): number | undefined => {
    const definition = agents.get(step)
    return call === undefined || definition === undefined ? undefined : approvalTimeoutMs(definition.tools[call.name]?.approval, definition.approval?.timeout)
  }

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
      return (
        conversation.runBudget !== null && budgetReached(conversation.runBudget, addUsage(conversation.runUsage, conversation.usage), conversation.runElapsedMs)
      )
    },
    agentTooManyToolErrors: (args: Args, params: { step: string }) => toolsRan(args, params.step).toolErrors >= (agents.get(params.step)?.maxToolErrors ?? 3),
    agentValidDecision: ({ event }: Args) => parseApproval(event.decision).success,
    agentMoreApprovals: ({ context, event }: Args, params: { step: string }) => {
      const parsed = parseApproval(event.decision)
      return parsed.success && awaitingApproval(afterDecision(conversationOf(context, params.step), parsed.data)) !== undefined
    },
    agentEnded: ({ context }: Args, params: { step: string; outcome: AgentOutcome["kind"] }) =>
      conversationOf(context, params.step)?.outcome?.kind === params.outcome,
    // Only a pause with a deadline expires (a call whose tool sets none waits for its decision).
    agentApprovalTimed: ({ context }: Args, params: { step: string }) => context.waiting?.step === params.step && context.waiting.deadline !== null,
    agentMoreAfterExpiry: ({ context }: Args, params: { step: string }) =>
      context.waiting?.step === params.step &&
      context.waiting.deadline !== null &&
      awaitingApproval(afterExpiry(conversationOf(context, params.step), "")) !== undefined,
  }

  const actions = {
    // Without a run there is no run-level budget; the run layer provides one that reads it.
    agentBegin: assign(({ context }: Args, params: { step: string }) =>
      withConversation(context, params.step, beginConversation(context.visits[params.step] ?? 1, null)),
    ),
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
      const runError = serializeStepError(params.step, event.error)
      return withConversation(context, params.step, { ...conversationOf(context, params.step), outcome: { kind: "failed", error: runError } })
    }),
    agentEnd: assign(({ context }: Args, params: { step: string; rule: string }) => {
      const conversation = conversationOf(context, params.step)
      const rule = params.rule === "runBudget" && conversation.runBudget !== null ? `run budget(${describeBudget(conversation.runBudget)})` : params.rule
      return withConversation(context, params.step, { ...conversation, outcome: { kind: "stopped", rule } })
    }),
    // A resumed run keeps the deadline its journal has for this pause (`step#visit#n`): a restart never extends it.
    agentWait: assign(({ context }: Args, params: { step: string }) => {
      const conversation = conversationOf(context, params.step)
      const ms = approvalMsOf(params.step, awaitingApproval(conversation))
      const journaled = context.deadlines[`${visitKey(params.step, conversation.visit)}#${conversation.approvals}`]
      return { status: "awaiting-human" as const, waiting: { step: params.step, deadline: ms === undefined ? null : (journaled ?? Date.now() + ms) } }
    }),
    agentExpire: assign(({ context }: Args, params: { step: string }) => {
      const conversation = conversationOf(context, params.step)
      const ms = approvalMsOf(params.step, awaitingApproval(conversation)) ?? 0
      const reason = `No decision on this call within ${describeMs(ms)}: its approval deadline passed, so it was not run.`
      return withConversation(context, params.step, afterExpiry(conversation, reason))
    }),
    agentDecide: assign(({ context, event }: Args, params: { step: string }) => {
      const parsed = parseApproval(event.decision)
      if (!parsed.success) return {}
      return withConversation(context, params.step, afterDecision(conversationOf(context, params.step), parsed.data))
    }),
    // The journaling of both ends (journal.agentStopped / journal.agentFailed) is the run layer's.
    agentStopped: assign(({ context }: Args, params: { step: string }) => {
      const conversation = conversationOf(context, params.step)
      const rule = conversation.outcome?.kind === "stopped" ? conversation.outcome.rule : "stop"
      return { stoppedBy: { step: params.step, rule }, last: params.step }
    }),
    agentFailed: assign(({ context }: Args, params: { step: string; routed: boolean; to?: string }) => {
      const error = agentFailure(context, params.step)
      // The error route's target reads the error in its next visit (`ctx.error`).
      const routedError = params.to === undefined ? {} : { routedError: routedErrorFor(context, params.step, params.to, error) }
      return { errors: { ...context.errors, [params.step]: error }, ...(params.routed ? routedError : { error }) }
    }),
  }
  // A pause without a deadline gets a delay of 0: its timer fires at once, the guard refuses it, and no timer lingers.
  const delays = Object.fromEntries(
    [...agents.keys()].map((step) => [
      approvalDelayOf(step),
      ({ context }: { context: RunContext }) => {
        const deadline = context.waiting?.step === step ? context.waiting.deadline : null
        // A run's clock reaches delays past Node's 24.8-day timer limit in hops (run/executor.ts).
        return deadline === null ? 0 : Math.max(0, deadline - Date.now())
      },
    ]),
  )
  return { guards, actions, delays }
}
