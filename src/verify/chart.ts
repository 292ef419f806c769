// Reads a compiled pipeline machine back into steps and labelled transitions. Everything here
// comes from `machine.config`, which is plain JSON: the checks see exactly what runs.
import type { AnyStateMachine } from "xstate"

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
    const stoppedAt = config.guard?.type === "stops" ? config.guard.params.to : undefined
    return [{ from, label, target: config.target, ...(stoppedAt === undefined ? {} : { stoppedAt }), key: transitionKey(from, label, config.target, stoppedAt) }]
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
  for (const [name, state] of Object.entries(config.states)) {
    if (finalStates.has(name) || state.type === "final") continue
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
    states.set(name, { name, kind: decide === undefined ? "invoked" : "human", routes, deadline: state.after !== undefined, transitions })
  }
  return { initial: config.initial, states, stopRuled }
}

/** Every transition of the chart, in state order. */
export const transitionsOf = (chart: Chart): readonly ChartTransition[] => [...chart.states.values()].flatMap((state) => state.transitions)
