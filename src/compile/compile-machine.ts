// Compiles a validated pipeline graph to an XState machine. The config names every actor, guard,
// action and delay; this file builds only the pure ones (guards, context assigns, delays). What
// runs a step or journals is supplied by the run layer through `machine.provide()`
// (run/implementations.ts), so a compiled machine can be tested without the runtime.
import { type ActorLogic, type AnyEventObject, assign, fromPromise, setup } from "xstate"
import { toMillis } from "../contract/duration.ts"
import { type RunError, serializeStepError, thrownIn, undeclaredTarget } from "../contract/errors.ts"
import type { RunStatus } from "../contract/events.ts"
import { visitKey } from "../contract/keys.ts"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { agentAnswer, agentImplementations, agentState, agentToolsActor, agentTurnActor } from "./agent-state.ts"
import { branchOutput, parallelState, withoutBranches } from "./parallel-state.ts"
import {
  initialContext,
  type MachineInput,
  type MachineOutput,
  machineEvents,
  type PipelineEvent,
  type RunContext,
  routedErrorFor,
  type StepDone,
} from "./run-context.ts"

interface Graph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
}

type Transition = { target: string; reenter?: boolean; guard?: { type: "goes" | "stops"; params: { from: string; to: string } }; actions: unknown[] }

// biome-ignore lint/suspicious/noExplicitAny: one actor logic type for every invoked step, whatever its output
type StepLogic = ActorLogic<any, any, any, any, any>

/**
 * The actor every invoked step state names until the run layer provides the real one: a machine
 * compiled without a runtime can be read, drawn and walked, but not run.
 */
export const unprovidedStep: StepLogic = fromPromise(async ({ input }: { input: { step: string } }) => {
  throw {
    _tag: "ConfigurationError",
    step: input.step,
    retryable: false,
    message: `step "${input.step}" has no runtime: run the machine built by pipeline(), not compileMachine()`,
  } satisfies RunError
})

/** Names of the actions that journal: no-ops here, provided by the run layer (run/implementations.ts). */
export const journalingActions = [
  "journal.humanExpired",
  "journal.routeFailed",
  "journal.parallelStarted",
  "journal.agentStopped",
  "journal.agentFailed",
] as const

/**
 * Compiles a validated graph to an XState machine: one state per step, routes as guarded
 * transitions referenced by name, human deadlines as named delays, final `done`/`failed`/`stopped`.
 */
export const compileMachine = (graph: Graph) => {
  const edgeOf = (step: string): NormalizedEdge => graph.edges.get(step) as NormalizedEdge
  const stopRulesOf = (step: string) => (step === "done" ? [] : edgeOf(step).stop)

  // Which target the current event chooses for `from`; undefined when the event chooses none
  // (an invalid human decision is ignored and the run keeps waiting).
  // XState hands the same event object to every guard of one transition: parse the decision and
  // run the route once per event, not once per candidate target. The route also reads the context,
  // so an event object sent again later (another context) is routed again.
  type Decided = { readonly parsed: ReturnType<typeof parseDecision>; target?: string | undefined; routedIn?: RunContext; failure?: RunError | undefined }
  const decisions = new WeakMap<AnyEventObject, Decided>()
  const decisionOf = (from: string, event: AnyEventObject): Decided => {
    let known = decisions.get(event)
    if (known === undefined) decisions.set(event, (known = { parsed: parseDecision(graph.steps.get(from), event) }))
    return known
  }
  const chosen = (from: string, context: RunContext, event: AnyEventObject): string | undefined => {
    const edge = edgeOf(from)
    // An agent's sub-chart ends with xstate.done.state.*; its answer and route are in the context.
    if (event.type.startsWith("xstate.done.state.")) return agentAnswer(context, from)?.next
    if (event.type.startsWith("xstate.done.actor.")) return (event as unknown as { output: StepDone }).output.next
    if (event.type.startsWith("xstate.error.actor.")) return edge.error
    if (event.type === machineEvents.decide(from)) {
      const decision = decisionOf(from, event)
      if (!decision.parsed.success) return undefined
      if (edge.select === undefined) return edge.targets[0]
      if (decision.routedIn !== context) {
        decision.routedIn = context
        decision.target = undefined
        decision.failure = undefined
        // A route that throws (or names no declared target) fails the step with what it threw,
        // through the routeFailed guard: inside a guard, a throw would surface as XState's own error.
        try {
          const target = edge.select({ output: decision.parsed.data, input: context.input, steps: context.steps, visit: context.visits[from] ?? 1 })
          if (edge.targets.includes(target)) decision.target = target
          else decision.failure = undeclaredTarget(from, target, edge.targets)
        } catch (thrown) {
          decision.failure = serializeStepError(from, thrownIn(from, "route", thrown))
        }
      }
      return decision.target
    }
    return edge.timeout // after(<step>.timeout) or <step>.expire
  }
  // Rules see the outputs including the one that just arrived with this event.
  const firingRule = (from: string, to: string, context: RunContext, event: AnyEventObject): string | undefined => {
    const rules = stopRulesOf(to)
    if (rules.length === 0) return undefined
    const steps = { ...context.steps }
    if (event.type.startsWith("xstate.done.actor.")) steps[from] = (event as unknown as { output: StepDone }).output.output
    else if (event.type.startsWith("xstate.done.state.")) steps[from] = agentAnswer(context, from)?.output
    else if (event.type === machineEvents.decide(from)) steps[from] = decisionOf(from, event).parsed.data
    return rules.find((rule) => rule.fires({ input: context.input, steps, visits: context.visits[to] ?? 0 }))?.name
  }

  const into = (from: string, to: string, record: unknown[], guarded: boolean): Transition[] => {
    const params = { from, to }
    // reenter: a self-loop must exit and re-enter the state so the step's actor runs again.
    const main: Transition = { target: to, actions: record, ...(to === from ? { reenter: true } : {}), ...(guarded ? { guard: { type: "goes", params } } : {}) }
    if (stopRulesOf(to).length === 0) return [main]
    const stoppedTarget = edgeOf(to).stopped ?? "stopped"
    return [
      { target: stoppedTarget, guard: { type: "stops", params }, actions: [...record, { type: "stop", params }] },
      { ...main, guard: { type: "goes", params } },
    ]
  }

  const states: Record<string, unknown> = {}
  for (const [name, step] of graph.steps) {
    const edge = edgeOf(name)
    const record = [{ type: "record", params: { step: name } }]
    const routes = edge.targets.flatMap((to) => into(name, to, record, edge.targets.length > 1 || step.kind === "human"))
    const entry = [{ type: "enter", params: { step: name } }]
    if (step.kind === "agent") {
      states[name] = agentState(
        name,
        step,
        edge,
        edge.targets.flatMap((to) => into(name, to, record, true)),
      )
      continue
    }
    if (step.kind === "human") {
      const onTimeout =
        edge.timeout === undefined
          ? [
              {
                target: "failed",
                actions: [
                  { type: "humanTimeout", params: { step: name } },
                  { type: "journal.humanExpired", params: { step: name } },
                ],
              },
            ]
          : into(
              name,
              edge.timeout,
              [
                { type: "humanTimeout", params: { step: name } },
                { type: "journal.humanExpired", params: { step: name } },
              ],
              false,
            )
      // Marked by `unknownRoute` like an invoked step's fallback: no declared transition of the chart.
      const failedTarget = edge.error ?? "failed"
      const routeFailed = {
        target: failedTarget,
        ...(failedTarget === name ? { reenter: true } : {}),
        guard: { type: "routeFailed", params: { from: name } },
        actions: [
          { type: "unknownRoute", params: { step: name, ...(edge.error === undefined ? {} : { continues: true }) } },
          { type: "journal.routeFailed", params: { step: name } },
        ],
      }
      states[name] = {
        entry,
        exit: [{ type: "leave" }],
        on: { [machineEvents.decide(name)]: [...routes, routeFailed], [machineEvents.expire(name)]: step.timeout === undefined ? [] : onTimeout },
        ...(step.timeout === undefined ? {} : { after: { [`${name}.timeout`]: onTimeout } }),
        description: step.description ?? "Waits for a human decision",
      }
      continue
    }
    const failure = [{ type: "fail", params: { step: name } }]
    // A journal that refused the step's write stops the run: an error edge is for the step's own failures.
    const onError =
      edge.error === undefined
        ? [{ target: "failed", actions: failure }]
        : [
            { target: "failed", guard: { type: "journalStopped" }, actions: failure },
            ...into(name, edge.error, [{ type: "noteError", params: { step: name } }], false),
          ]
    if (step.kind === "parallel") {
      const unknownRoute = { target: "failed", actions: [{ type: "unknownRoute", params: { step: name } }] }
      states[name] = parallelState(name, step, { entry, routes: [...routes, unknownRoute], onError, description: step.description })
      continue
    }
    states[name] = {
      entry,
      invoke: {
        id: name,
        src: name,
        input: { step: name },
        onDone: [...routes, { target: "failed", actions: [{ type: "unknownRoute", params: { step: name } }] }],
        onError,
      },
      ...(step.description === undefined ? {} : { description: step.description }),
    }
  }
  const final = (status: RunStatus) => ({ type: "final", entry: [{ type: "finish", params: { status } }] })
  states["done"] = final("done")
  states["failed"] = final("failed")
  states["stopped"] = final("stopped")

  const delays: Record<string, (args: { context: RunContext }) => number> = {}
  for (const [name, step] of graph.steps) {
    if (step.kind !== "human" || step.timeout === undefined) continue
    const ms = toMillis(step.timeout)
    delays[`${name}.timeout`] = ({ context }) => {
      const deadline = context.waiting?.step === name ? context.waiting.deadline : null
      return deadline === null ? ms : Math.max(0, deadline - Date.now())
    }
  }

  const agents = agentImplementations(graph)
  const actors: Record<string, StepLogic> = Object.fromEntries([...graph.steps.keys(), agentTurnActor, agentToolsActor].map((name) => [name, unprovidedStep]))
  return setup({
    types: {
      context: {} as RunContext,
      events: {} as PipelineEvent,
      input: {} as MachineInput,
      output: {} as MachineOutput,
    },
    actors,
    guards: {
      goes: ({ context, event }, params: { from: string; to: string }) =>
        chosen(params.from, context, event) === params.to && firingRule(params.from, params.to, context, event) === undefined,
      stops: ({ context, event }, params: { from: string; to: string }) =>
        chosen(params.from, context, event) === params.to && firingRule(params.from, params.to, context, event) !== undefined,
      // A human decision whose route threw or named an undeclared target.
      routeFailed: ({ context, event }, params: { from: string }) =>
        event.type === machineEvents.decide(params.from) &&
        chosen(params.from, context, event) === undefined &&
        decisionOf(params.from, event).failure !== undefined,
      journalStopped: ({ event }) => (event as { error?: { _tag?: unknown } }).error?._tag === "JournalError",
      // The agent sub-charts' guards (agent-state.ts), referenced by name like these.
      ...(agents.guards as {}),
    },
    actions: {
      // The journaling actions are the run layer's (run/implementations.ts): no-ops until provided.
      ...Object.fromEntries(journalingActions.map((name) => [name, () => {}])),
      // Parallel steps: keep each branch's output while the step runs.
      branchDone: assign(({ context, event }, params: { step: string; branch: string }) => branchOutput(context, event, params)),
      branchesDone: assign(({ context }, params: { step: string }) => withoutBranches(context, params.step)),
      enter: assign(({ context }, params: { step: string }) => {
        const visits = { ...context.visits, [params.step]: (context.visits[params.step] ?? 0) + 1 }
        const step = graph.steps.get(params.step)
        if (step?.kind !== "human") return { visits }
        const visit = visits[params.step] as number
        // A resumed run keeps the deadline it journaled, so a restart never extends it.
        const journaled = context.deadlines[visitKey(params.step, visit)]
        const deadline = step.timeout === undefined ? null : (journaled ?? Date.now() + toMillis(step.timeout))
        return { visits, status: "awaiting-human" as const, waiting: { step: params.step, deadline } }
      }),
      leave: assign({ status: "running" as const, waiting: null }),
      record: assign(({ context, event }, params: { step: string }) => {
        // The whole type: a step named `decide` finishes with xstate.done.actor.decide.
        const output = event.type.startsWith("xstate.done.state.")
          ? agentAnswer(context, params.step)?.output
          : event.type === machineEvents.decide(params.step)
            ? decisionOf(params.step, event).parsed.data
            : (event as unknown as { output: StepDone }).output.output
        return { steps: { ...context.steps, [params.step]: output }, last: params.step }
      }),
      noteError: assign(({ context, event }, params: { step: string }) => {
        const error = (event as unknown as { error: RunError }).error
        const to = edgeOf(params.step).error
        return {
          errors: { ...context.errors, [params.step]: error },
          // The target is entered next (its visit count goes up by one): that visit reads the error.
          ...(to === undefined ? {} : { routedError: routedErrorFor(context, params.step, to, error) }),
        }
      }),
      fail: assign(({ event }, params: { step: string }) => ({ error: serializeStepError(params.step, (event as unknown as { error: unknown }).error) })),
      humanTimeout: assign(({ context }, params: { step: string }) => {
        const ms = toMillis((graph.steps.get(params.step) as { timeout?: number }).timeout ?? 0)
        const error: RunError = { _tag: "HumanTimeoutError", step: params.step, ms, message: `no decision for "${params.step}" within ${ms}ms` }
        return { error: edgeOf(params.step).timeout === undefined ? error : context.error, errors: { ...context.errors, [params.step]: error } }
      }),
      // The route chose no declared target. A human step's error edge (`continues`) reads the error
      // from `errors`; otherwise it is the run's.
      unknownRoute: assign(({ context, event }, params: { step: string; continues?: boolean }) => {
        const failure = event.type === machineEvents.decide(params.step) ? decisionOf(params.step, event).failure : undefined
        if (failure !== undefined) {
          const errors = { ...context.errors, [params.step]: failure }
          return params.continues === true ? { errors } : { error: failure, errors }
        }
        const target = String((event as unknown as { output?: StepDone }).output?.next)
        const error: RunError = {
          _tag: "RouteError",
          step: params.step,
          target,
          message: `step "${params.step}" chose "${target}", which its edge does not declare`,
        }
        return { error }
      }),
      stop: assign(({ context, event }, params: { from: string; to: string }) => ({
        stoppedBy: { step: params.to, rule: firingRule(params.from, params.to, context, event) ?? "stop" },
      })),
      finish: assign((_, params: { status: RunStatus }) => ({ status: params.status, waiting: null })),
      // A run stopped by its journal (run/journal-writer.ts) carries that JournalError instead.
      cancel: assign(({ context, event }) => ({
        error: (event as { error?: RunError }).error ?? {
          _tag: "CancelledError" as const,
          ...(context.waiting === null ? {} : { step: context.waiting.step }),
          message: `run cancelled${(event as { reason?: string }).reason === undefined ? "" : `: ${(event as { reason?: string }).reason}`}`,
        },
      })),
      // The agent sub-charts' pure actions (agent-state.ts).
      ...(agents.actions as {}),
    },
    // biome-ignore lint/suspicious/noExplicitAny: delays are keyed by step name, known only at build time
    delays: { ...delays, ...agents.delays } as any,
  }).createMachine({
    id: graph.id,
    context: ({ input }) => initialContext(input.runId ?? "local", input.input, input.deadlines ?? {}),
    initial: graph.steps.keys().next().value as string,
    on: { [machineEvents.cancel]: { target: ".failed", actions: [{ type: "cancel" }] } },
    // biome-ignore lint/suspicious/noExplicitAny: states are built from the graph
    states: states as any,
    output: ({ context }) => ({ status: context.status, steps: context.steps, last: context.last, error: context.error, stoppedBy: context.stoppedBy }),
  })
}

const parseDecision = (step: AnyStep | undefined, event: AnyEventObject) => {
  if (step?.kind !== "human") return { success: false as const, data: undefined }
  const result = step.decision.safeParse((event as { decision?: unknown }).decision)
  return result.success ? { success: true as const, data: result.data as unknown } : { success: false as const, data: undefined }
}

/** The machine type of every compiled pipeline. */
export type PipelineMachine = ReturnType<typeof compileMachine>
