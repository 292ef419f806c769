// Reads a compiled pipeline machine back into steps and labelled transitions. Everything here
// comes from `machine.config`, which is plain JSON: the checks see exactly what runs.

import type { AnyStateMachine } from "xstate"
import { stateNameOf, topState } from "../compile/state-value.ts"

/** How a transition is triggered: a step finished, failed, got a decision, or ran out of time. */
export type TransitionLabel = "done" | "error" | "decide" | "timeout"

/**
 * One transition of a pipeline machine. `stoppedAt` names the step whose stop rule fired
 * (the transition aimed at that step and went to `target` instead).
 *
 * @example
 * const transition: ChartTransition = { from: "classify", label: "done", target: "answer", key: "classify --done--> answer" }
 */
export interface ChartTransition {
  readonly from: string
  readonly label: TransitionLabel
  readonly target: string
  readonly stoppedAt?: string
  /** `from --label--> target`, plus `(stop rule of <step>)`: how coverage names the transition. */
  readonly key: string
}

/** A step state as the chart shows it. */
export interface ChartState {
  readonly name: string
  readonly kind: "invoked" | "human"
  /** The targets the step's route may choose (its declared `next`). */
  readonly routes: readonly string[]
  /** Human steps: whether a deadline is set. */
  readonly deadline: boolean
  /** Steps whose edge declares stop rules have transitions into them guarded by `stops`. */
  readonly transitions: readonly ChartTransition[]
  /** A state of an agent step's sub-chart (`<step>.thinking`, `<step>.callingTools`, `<step>.awaitingApproval`). */
  readonly agent?: AgentChartState
}

/** What the path tools need to drive an agent sub-chart state. */
export interface AgentChartState {
  readonly step: string
  readonly phase: "thinking" | "callingTools" | "awaitingApproval"
  readonly tools: readonly string[]
  readonly approvalTools: readonly string[]
  /** The approval tools whose pause has a deadline (past it the call is refused: the `timeout` transition). */
  readonly approvalTimeouts: readonly string[]
  readonly maxToolErrors: number
}

/** The pipeline's chart: its first step, its step states in order, and which steps have stop rules. */
export interface Chart {
  readonly initial: string
  readonly states: ReadonlyMap<string, ChartState>
  readonly stopRuled: ReadonlySet<string>
}

/** The final states of every pipeline machine. */
export const finalStates: ReadonlySet<string> = new Set(["done", "failed", "stopped"])

interface TransitionConfig {
  readonly target?: string
  readonly guard?: { readonly type: string; readonly params: { readonly from: string; readonly to: string } }
  readonly actions?: ReadonlyArray<{ readonly type: string }>
}
interface StateConfig {
  readonly type?: string
  readonly states?: Readonly<Record<string, StateConfig>>
  readonly onDone?: readonly TransitionConfig[]
  readonly meta?: {
    readonly agent?: {
      readonly tools: readonly string[]
      readonly approvalTools: readonly string[]
      readonly approvalTimeouts?: readonly string[]
      readonly maxToolErrors: number
    }
  }
  readonly invoke?: { readonly onDone?: readonly TransitionConfig[]; readonly onError?: readonly TransitionConfig[] }
  readonly on?: Readonly<Record<string, readonly TransitionConfig[]>>
  readonly after?: Readonly<Record<string, readonly TransitionConfig[]>>
}

/** The coverage key of a transition. */
export const transitionKey = (from: string, label: TransitionLabel, target: string, stoppedAt?: string): string =>
  `${from} --${label}--> ${target}${stoppedAt === undefined ? "" : ` (stop rule of ${stoppedAt})`}`

const labelled = (from: string, label: TransitionLabel, configs: readonly TransitionConfig[]): ChartTransition[] =>
  configs.flatMap((config): ChartTransition[] => {
    // The unguarded fallback after every route catches an undeclared target (a RouteError): no declared transition.
    if (config.actions?.some((action) => action.type === "unknownRoute") === true || config.target === undefined) return []
    // A journal that refused a write stops the run from any step (like `run.cancel`): not a route of the graph.
    if (config.guard?.type === "journalStopped") return []
    const stoppedAt = config.guard?.type === "stops" ? config.guard.params.to : undefined
    return [
      { from, label, target: config.target, ...(stoppedAt === undefined ? {} : { stoppedAt }), key: transitionKey(from, label, config.target, stoppedAt) },
    ]
  })

/**
 * Reads the chart of a compiled pipeline machine (`p.machine`).
 *
 * @example
 * const chart = readChart(p.machine)
 * const humans = [...chart.states.values()].filter((state) => state.kind === "human")
 */
export const readChart = (machine: AnyStateMachine): Chart => {
  const config = machine.config as unknown as { readonly initial: string; readonly states: Readonly<Record<string, StateConfig>> }
  const states = new Map<string, ChartState>()
  const stopRuled = new Set<string>()
  // A transition into an agent step enters its sub-chart's first state.
  const agents = new Set(
    Object.entries(config.states)
      .filter(([, state]) => state.meta?.agent !== undefined)
      .map(([name]) => name),
  )
  const entering = (transition: ChartTransition): ChartTransition => {
    if (!agents.has(transition.target)) return transition
    const target = `${transition.target}.thinking`
    return { ...transition, target, key: transitionKey(transition.from, transition.label, target, transition.stoppedAt) }
  }
  for (const [name, state] of Object.entries(config.states)) {
    if (finalStates.has(name) || state.type === "final") continue
    if (state.meta?.agent !== undefined) {
      for (const agentState of agentStates(name, state)) {
        for (const transition of agentState.transitions) if (transition.stoppedAt !== undefined) stopRuled.add(transition.stoppedAt)
        states.set(agentState.name, { ...agentState, transitions: agentState.transitions.map(entering) })
      }
      // The agent's own loop is bounded by its stop rules.
      stopRuled.add(`${name}.thinking`)
      continue
    }
    const decide = state.on?.[`${name}.decide`]
    // A parallel step's routes hang on its own state (its regions and join are inside it).
    const onDone = state.invoke?.onDone ?? state.on?.[`xstate.done.actor.${name}`] ?? []
    const onError = state.invoke?.onError ?? state.on?.[`xstate.error.actor.${name}`] ?? []
    const next = decide ?? onDone
    const routes = [...new Set(labelled(name, "done", next).map((transition) => transition.stoppedAt ?? transition.target))]
    const transitions =
      decide === undefined
        ? [...labelled(name, "done", onDone), ...labelled(name, "error", onError)]
        : [...labelled(name, "decide", decide), ...labelled(name, "timeout", Object.values(state.after ?? {})[0] ?? [])]
    for (const transition of transitions) if (transition.stoppedAt !== undefined) stopRuled.add(transition.stoppedAt)
    states.set(name, {
      name,
      kind: decide === undefined ? "invoked" : "human",
      routes,
      deadline: state.after !== undefined,
      transitions: transitions.map(entering),
    })
  }
  return { initial: agents.has(config.initial) ? `${config.initial}.thinking` : config.initial, states, stopRuled }
}

// An agent's sub-chart as chart states: each sub-state's transitions into a final sub-state are
// followed through the step's onDone to where the run goes next (routes, stopped, failed).
const agentStates = (name: string, state: StateConfig): ChartState[] => {
  const meta = state.meta?.agent as NonNullable<NonNullable<StateConfig["meta"]>["agent"]>
  const onDone = state.onDone ?? []
  const ended = (outcome: string) =>
    onDone.filter((config) => config.guard?.type === "agentEnded" && (config.guard.params as unknown as { outcome: string }).outcome === outcome)
  const routes = onDone.filter((config) => config.guard?.type === "goes" || config.guard?.type === "stops")
  const stopped = ended("stopped").map((config) => ({ ...config, guard: { type: "stops", params: { from: name, to: name } } }))
  const through = (from: string, label: TransitionLabel, configs: readonly TransitionConfig[]): ChartTransition[] =>
    configs.flatMap((config) => {
      const target = config.target
      if (target === undefined || target === from.slice(name.length + 1)) return []
      if (target === "finished") return labelled(from, label, routes)
      if (target === "stopped") return labelled(from, label, stopped)
      if (target === "failed") return labelled(from, label, ended("failed"))
      return labelled(from, label, [{ ...config, target: `${name}.${target}`, guard: undefined as never }])
    })
  const sub = state.states ?? {}
  const result: ChartState[] = []
  for (const phase of ["thinking", "callingTools", "awaitingApproval"] as const) {
    const config = sub[phase]
    if (config === undefined) continue
    const full = `${name}.${phase}`
    const decide = config.on?.[`${name}.decide`]
    // A pause whose deadline passes refuses the call: the `expire` event (or the `after` timer) goes on to the tools.
    const expire = config.on?.[`${name}.expire`] ?? []
    const transitions =
      decide === undefined
        ? [...through(full, "done", config.invoke?.onDone ?? []), ...through(full, "error", config.invoke?.onError ?? [])]
        : [...through(full, "decide", decide), ...through(full, "timeout", expire)]
    const unique = [...new Map(transitions.map((transition) => [transition.key, transition])).values()]
    result.push({
      name: full,
      kind: decide === undefined ? "invoked" : "human",
      routes: [...new Set(routes.map((config) => config.guard?.params.to as string))],
      deadline: config.after !== undefined,
      transitions: unique,
      agent: {
        step: name,
        phase,
        tools: meta.tools,
        approvalTools: meta.approvalTools,
        approvalTimeouts: meta.approvalTimeouts ?? [],
        maxToolErrors: meta.maxToolErrors,
      },
    })
  }
  return result
}

/** Every transition of the chart, in state order. */
/**
 * The chart's name of a machine state value: an agent's sub-state reads `<step>.<sub-state>` (the
 * chart lists them), a parallel step reads as the step (its regions are one node of the chart).
 *
 * @example
 * chartStateOf(readChart(triage.machine), { research: "thinking" }) // "research.thinking"
 */
export const chartStateOf = (chart: Chart, value: unknown): string => {
  const full = stateNameOf(value)
  return chart.states.has(full) ? full : topState(value)
}

export const transitionsOf = (chart: Chart): readonly ChartTransition[] => [...chart.states.values()].flatMap((state) => state.transitions)
