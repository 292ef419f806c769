import type { PipelineStructure } from "../../contract/events.ts"
import type { JournalEntry } from "../../contract/journal.ts"
import type { PipelineDefinition } from "../../definition/graph.ts"

/** How a transition leaves its step: its route or single next target, a failure, a human deadline, or a stop rule. */
export type ChartEdgeKind = "next" | "route" | "decision" | "error" | "timeout" | "stopped"

/**
 * One step (or final state) of a chart.
 *
 * @example
 * const node: ChartNode = { name: "review", kind: "human", final: false, description: "Waits for a human decision" }
 */
export interface ChartNode {
  readonly name: string
  /** `llm`, `fn`, `tool` or `human` for steps (`step` when only the machine is known); `final` for done, failed, stopped. */
  readonly kind: string
  readonly final: boolean
  readonly description?: string
  /** The states of the step's own sub-chart (an agent's turns, a parallel step's regions), drawn inside its box. */
  readonly inner?: readonly ChartSubState[]
  /** Transitions between those states (by name). */
  readonly innerEdges?: readonly { readonly from: string; readonly to: string }[]
}

/**
 * A state inside a step's sub-chart; one with `children` is a region or a compound state.
 *
 * @example
 * const thinking: ChartSubState = { name: "thinking", parallel: false, initial: true, children: [], edges: [] }
 */
export interface ChartSubState {
  readonly name: string
  /** `parallel` for a state whose children run at once (a parallel step's branches). */
  readonly parallel: boolean
  /** The state its parent enters first. */
  readonly initial: boolean
  readonly children: readonly ChartSubState[]
  readonly edges: readonly { readonly from: string; readonly to: string }[]
}

/**
 * One transition of a chart, labelled as the pipeline declares it.
 *
 * @example
 * const edge: ChartEdge = { from: "classify", to: "review", kind: "route", label: "route → review" }
 */
export interface ChartEdge {
  readonly from: string
  readonly to: string
  readonly kind: ChartEdgeKind
  readonly label: string
}

/**
 * A pipeline's chart: every state of its machine and every transition, in a stable order
 * (steps in declaration order, then `done`, `failed`, `stopped` when something reaches them).
 *
 * @example
 * const steps = (chart: Chart) => chart.nodes.filter((node) => !node.final).map((node) => node.name)
 */
export interface Chart {
  readonly id: string
  readonly first: string
  readonly nodes: readonly ChartNode[]
  readonly edges: readonly ChartEdge[]
}

interface TransitionConfig {
  readonly target?: string | readonly string[]
  readonly guard?: { readonly type: string; readonly params: { readonly from: string; readonly to: string } }
  readonly actions?: ReadonlyArray<{ readonly type: string }>
}
type Transitions = TransitionConfig | readonly TransitionConfig[] | undefined
interface StateConfig {
  readonly type?: string
  readonly states?: Readonly<Record<string, StateConfig>>
  readonly initial?: string
  readonly always?: Transitions
  readonly description?: string
  /** Agent steps: the sub-chart ends, then this takes the step's edge. */
  readonly onDone?: Transitions
  readonly meta?: { readonly agent?: unknown }
  readonly invoke?: { readonly onDone?: Transitions; readonly onError?: Transitions }
  readonly on?: Readonly<Record<string, Transitions>>
  readonly after?: Readonly<Record<string, Transitions>>
}

const finals = ["done", "failed", "stopped"] as const

/**
 * The graph as data for a pipeline: passed in, exposed by the pipeline, or journaled with the run.
 * It adds step kinds and stop-rule names, which the machine config does not carry.
 */
export const structureFor = (
  pipeline: PipelineDefinition<unknown, Record<string, unknown>>,
  options: { readonly structure?: PipelineStructure; readonly run?: readonly JournalEntry[] },
): PipelineStructure | undefined => {
  if (options.structure !== undefined) return options.structure
  // Read defensively: a pipeline may expose its structure; a journaled run always carries it.
  const own = (pipeline as { readonly structure?: PipelineStructure }).structure
  if (own !== undefined) return own
  const started = options.run?.find((entry) => entry.type === "run.started")
  return started?.type === "run.started" ? started.structure : undefined
}

/**
 * Reads a pipeline's chart from its compiled machine, so the chart always shows the transitions
 * the machine really has. A {@link PipelineStructure} (from `run.started`) adds step kinds and
 * stop-rule names; without it steps are labelled `human` or `step` and stop edges `stopped`.
 *
 * @example
 * const chart = chartOf(triage)
 * chart.edges.filter((edge) => edge.from === "classify").map((edge) => edge.to) // ["review", "answer", "failed"]
 */
export const chartOf = (pipeline: PipelineDefinition<unknown, Record<string, unknown>>, structure?: PipelineStructure): Chart => {
  const states = pipeline.machine.config.states as unknown as Readonly<Record<string, StateConfig>>
  const declared = new Map((structure?.steps ?? []).map((step) => [step.name, step]))
  const steps = pipeline.stepNames.filter((name) => states[name] !== undefined)
  const edges: ChartEdge[] = []
  const seen = new Set<string>()
  const add = (edge: ChartEdge) => {
    const key = `${edge.from}\u0000${edge.to}\u0000${edge.label}`
    if (seen.has(key)) return
    seen.add(key)
    edges.push(edge)
  }
  const stopLabel = (guarded: string) => {
    const rules = declared.get(guarded)?.stop ?? declared.get(guarded)?.agentStop
    return rules === undefined || rules.length === 0 ? `stopped ${guarded}` : `${rules.join(" | ")} stops ${guarded}`
  }

  for (const name of steps) {
    const state = states[name] as StateConfig
    const human = state.on?.[`${name}.decide`] !== undefined
    // An agent's edge is on its sub-chart's onDone: its routes, then where a stop rule or a failure goes.
    // A parallel step's routes hang on its own state (its regions and join are inside it).
    const agent = state.meta?.agent !== undefined
    const ended = (outcome: string) =>
      list(state.onDone).filter(
        (transition) => transition.guard?.type === "agentEnded" && (transition.guard.params as unknown as { outcome: string }).outcome === outcome,
      )
    const forward = list(
      human
        ? state.on?.[`${name}.decide`]
        : agent
          ? list(state.onDone).filter((transition) => transition.guard?.type !== "agentEnded")
          : (state.invoke?.onDone ?? state.on?.[`xstate.done.actor.${name}`]),
    ).filter((transition) => !transition.actions?.some((action) => action.type === "unknownRoute"))
    const chosen = new Set(forward.map((transition) => transition.guard?.params.to ?? targetOf(transition)))
    // Routes first, then what a stop rule diverts them to: the order a reader follows.
    const stops = forward.filter((transition) => transition.guard?.type === "stops")
    for (const transition of forward) {
      if (transition.guard?.type === "stops") continue
      const to = targetOf(transition)
      const kind: ChartEdgeKind = chosen.size > 1 ? "route" : human ? "decision" : "next"
      const routeLabel = declared.get(name)?.empty === to ? `empty → ${to}` : `route → ${to}`
      add({ from: name, to, kind, label: kind === "route" ? routeLabel : kind === "decision" ? "decision" : "" })
    }
    for (const transition of stops) add({ from: name, to: targetOf(transition), kind: "stopped", label: stopLabel(transition.guard?.params.to as string) })
    for (const transition of ended("stopped")) add({ from: name, to: targetOf(transition), kind: "stopped", label: stopLabel(name) })
    const failing = human
      ? [...list(state.on?.[`${name}.expire`]), ...Object.values(state.after ?? {}).flatMap(list)]
      : agent
        ? ended("failed")
        : list(state.invoke?.onError ?? state.on?.[`xstate.error.actor.${name}`])
    for (const transition of failing) {
      // A journal that refused a write stops the run from any step: not an edge of the graph.
      if (transition.guard?.type === "journalStopped") continue
      const to = targetOf(transition)
      if (transition.guard?.type === "stops") add({ from: name, to, kind: "stopped", label: stopLabel(transition.guard.params.to) })
      else add({ from: name, to, kind: human ? "timeout" : "error", label: human ? "timeout" : "error" })
    }
  }

  const reached = new Set(edges.map((edge) => edge.to))
  const nodes: ChartNode[] = steps.map((name) => {
    const state = states[name] as StateConfig
    const human = state.on?.[`${name}.decide`] !== undefined
    const kind = declared.get(name)?.kind ?? (human ? "human" : "step")
    const inner = subStatesOf(state)
    return {
      name,
      kind,
      final: false,
      ...(state.description === undefined ? {} : { description: state.description }),
      ...(inner.children.length === 0 ? {} : { inner: inner.children, innerEdges: inner.edges }),
    }
  })
  for (const name of finals) if (name === "done" || reached.has(name)) nodes.push({ name, kind: "final", final: true })
  return { id: pipeline.id, first: steps[0] as string, nodes, edges }
}

const list = (transitions: Transitions | string): readonly TransitionConfig[] =>
  transitions === undefined
    ? []
    : typeof transitions === "string"
      ? [{ target: transitions }]
      : Array.isArray(transitions)
        ? (transitions as readonly TransitionConfig[])
        : [transitions as TransitionConfig]

// Targets are sibling state names, sometimes written ".failed" or as a one-element array.
const targetOf = (transition: TransitionConfig): string => {
  const target = Array.isArray(transition.target) ? transition.target[0] : transition.target
  return String(target ?? "").replace(/^\./, "")
}

// A state's sub-chart: its child states (recursively) and the transitions among siblings.
const subStatesOf = (state: StateConfig): Pick<ChartSubState, "children" | "edges"> => {
  const names = Object.keys(state.states ?? {})
  const edges: { from: string; to: string }[] = []
  const seen = new Set<string>()
  for (const name of names) {
    const child = (state.states as Readonly<Record<string, StateConfig>>)[name] as StateConfig
    const transitions = [
      ...list(child.invoke?.onDone),
      ...list(child.invoke?.onError),
      ...list(child.onDone),
      ...list(child.always),
      ...Object.values(child.on ?? {}).flatMap(list),
      ...Object.values(child.after ?? {}).flatMap(list),
    ]
    for (const transition of transitions) {
      const to = targetOf(transition)
      // Only moves between siblings; a state re-entering itself is not drawn.
      if (to === name || !names.includes(to) || seen.has(`${name}\u0000${to}`)) continue
      seen.add(`${name}\u0000${to}`)
      edges.push({ from: name, to })
    }
  }
  const children = names.map((name) => {
    const child = (state.states as Readonly<Record<string, StateConfig>>)[name] as StateConfig
    return { name, parallel: child.type === "parallel", initial: state.initial === name, ...subStatesOf(child) }
  })
  return { children, edges }
}
