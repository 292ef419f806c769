// The events that drive an agent's sub-chart on a path: the model answers (once per route of the
// step), calls each tool, or fails; a tool batch succeeds or errs until maxToolErrors; a person
// approves, or (for a tool whose approval has a deadline) nobody does in time. Outputs are shaped like the real actors', so the sub-chart's guards decide as at run time.
import { type AnyEventObject, type AnyStateMachine, assign } from "xstate"
import { beginConversation } from "../compile/agent-conversation.ts"
import { withConversation } from "../compile/agent-state.ts"
import type { RunContext } from "../compile/run-context.ts"
import { emptyUsage } from "../contract/usage.ts"
import type { AgentChartState, ChartState } from "./chart.ts"
import { type Fixtures, fixtureOutput } from "./fixtures.ts"

// Paths run under a run-level budget of 1ms that only one explored tool batch (taking 2ms) reaches:
// the stop transitions a run budget takes exist in every agent's chart, so a path covers them too.
const simulatedRunBudget = { ms: 1 }

/**
 * The machine paths are explored and simulated on: agents begin under {@link simulatedRunBudget}.
 *
 * @example
 * const explored = withSimulatedRunBudget(pipeline.machine)
 */
export const withSimulatedRunBudget = <TMachine extends AnyStateMachine>(machine: TMachine): TMachine =>
  machine.provide({
    actions: {
      agentBegin: assign(({ context }: { context: RunContext }, params: { step: string }) =>
        withConversation(context, params.step, beginConversation(context.visits[params.step] ?? 1, simulatedRunBudget)),
      ),
    },
  } as never) as TMachine

interface AgentTally {
  readonly turns: number
  readonly pending: ReadonlyArray<{ readonly id: string; readonly name: string; readonly approval?: unknown }>
}

/** Events to explore from one state of an agent's sub-chart. */
export const agentEvents = (
  state: ChartState,
  agent: AgentChartState,
  context: { readonly visits: Readonly<Record<string, number>>; readonly agents?: Readonly<Record<string, unknown>> },
  fixtures: Fixtures,
  maxVisits: number,
  failures: boolean,
): AnyEventObject[] => {
  const { step } = agent
  if ((context.visits[step] ?? 0) > maxVisits) return []
  const tally = (context.agents?.[step] ?? { turns: 0, pending: [] }) as AgentTally
  const failure = (phase: string) =>
    failures
      ? [{ type: `xstate.error.actor.${step}.${phase}`, error: { _tag: "StepCodeError", step, retryable: false, message: `simulated failure of "${step}"` } }]
      : []
  if (agent.phase === "thinking") {
    const turn = tally.turns + 1
    const base = { turn, text: "", usage: emptyUsage, elapsedMs: 0, runUsage: emptyUsage, runElapsedMs: 0 }
    const answers = state.routes.map((next) => ({
      type: `xstate.done.actor.${step}.thinking`,
      output: { ...base, calls: [], answer: { output: fixtureOutput(fixtures, step), next } },
    }))
    // Past maxVisits turns, only answers: the loop ends however the stop rules are written.
    if (turn > maxVisits) return answers
    // Every tool on the first turn, the first tool after: each tool's rules are reached, the paths stay few.
    const calls = (turn === 1 ? agent.tools : agent.tools.slice(0, 1)).map((name) => ({
      type: `xstate.done.actor.${step}.thinking`,
      output: { ...base, calls: [{ id: `path-${turn}-${name}`, name, arguments: {}, approval: agent.approvalTools.includes(name) ? "needed" : "none" }] },
    }))
    return [...answers, ...calls, ...failure("thinking")]
  }
  if (agent.phase === "callingTools") {
    const results = (isError: boolean) =>
      tally.pending.map((call) => ({ callId: call.id, name: call.name, content: isError ? "error: simulated" : "ok", isError, ran: true }))
    const erring = Array.from({ length: agent.maxToolErrors }, (_, index) => ({
      callId: `path-error-${index}`,
      name: tally.pending[0]?.name ?? "tool",
      content: "error: simulated",
      isError: true,
      ran: true,
    }))
    return [
      { type: `xstate.done.actor.${step}.callingTools`, output: { results: results(false), elapsedMs: 0 } },
      // A batch that spends the run's budget: the run-budget stop after tools.
      { type: `xstate.done.actor.${step}.callingTools`, output: { results: results(false), elapsedMs: simulatedRunBudget.ms + 1 } },
      { type: `xstate.done.actor.${step}.callingTools`, output: { results: erring, elapsedMs: 0 } },
      ...failure("callingTools"),
    ]
  }
  const waitingOn = tally.pending.find((call) => call.approval === "needed")?.name
  const expiry = waitingOn !== undefined && agent.approvalTimeouts.includes(waitingOn) ? [{ type: `${step}.expire` }] : []
  return [{ type: `${step}.decide`, decision: { action: "approve" } }, ...expiry]
}
