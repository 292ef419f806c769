import type { AnyEventObject, AnyStateMachine } from "xstate"
import type { z } from "zod"
import { agentEvents, withSimulatedRunBudget } from "./agent-paths.ts"
import { type Chart, chartStateOf, finalStates, readChart, type TransitionLabel, transitionKey, transitionsOf } from "./chart.ts"
import { type Fixtures, fixtureOutput } from "./fixtures.ts"
import { isSchema, sampleValues } from "./sample.ts"

/** A pipeline as the path tools read it: its machine, and its input schema to generate an input. */
export interface VerifiablePipeline {
  readonly machine: AnyStateMachine
  readonly input: z.ZodType<unknown>
  /** Step definitions: a human step's decision schema stands in for a missing fixture. */
  readonly definitions?: ReadonlyMap<string, { readonly kind: string; readonly decision?: unknown }>
}

/**
 * Options of {@link paths}: which paths, the run input, fixtures, and the loop bound.
 *
 * @example
 * const options: PathOptions = { kind: "simple", input: { ticket: "refund", customer: "a", orderId: "A-1" }, maxVisits: 4 }
 */
export interface PathOptions {
  /** `shortest` (default): few short paths that together take every reachable transition. `simple`: every path that never repeats a state. */
  readonly kind?: "shortest" | "simple"
  /** The run input (default: generated from the pipeline's input schema, optional fields included). */
  readonly input?: unknown
  readonly fixtures?: Fixtures
  /** Stop exploring a step entered more than this many times (default 10); stop rules usually end loops first. */
  readonly maxVisits?: number
  /** Include step failures (`xstate.error.actor.<step>`) for steps without an error edge too (default true). */
  readonly failures?: boolean
  /** Most paths `simple` may return before it refuses (default 1,000). */
  readonly maxPaths?: number
}

/** One move along a path: the state it leaves, the event to send, the state it enters. */
export interface PathStep {
  readonly step: string
  readonly event: AnyEventObject
  readonly target: string
  /** The transition's coverage key, e.g. `classify --done--> review`. */
  readonly transition: string
}

/**
 * A way through the pipeline from its first step to a final state, with the events that take it.
 *
 * @example
 * const path: PipelinePath = (await paths(supportTriage))[0]
 * path.name // "classify → answer → done"
 */
export interface PipelinePath {
  readonly name: string
  readonly input: unknown
  readonly steps: readonly PathStep[]
  readonly final: "done" | "failed" | "stopped"
  readonly transitions: readonly string[]
}

interface Snapshot {
  readonly value: unknown
  readonly status: string
  readonly context: {
    readonly visits: Readonly<Record<string, number>>
    readonly steps: Readonly<Record<string, unknown>>
    readonly stoppedBy: { readonly step: string } | null
    readonly agents?: Readonly<
      Record<
        string,
        {
          readonly turns: number
          readonly toolCalls: number
          readonly toolErrors: number
          readonly pending: readonly unknown[]
          readonly approvals: number
          readonly lastToolCalls: readonly string[]
        }
      >
    >
  }
}
interface Edge {
  readonly from: string
  readonly to: string
  readonly move: PathStep
}

const labelOf = (event: AnyEventObject): TransitionLabel =>
  event.type.startsWith("xstate.done.actor.")
    ? "done"
    : event.type.startsWith("xstate.error.actor.")
      ? "error"
      : event.type.endsWith(".decide")
        ? "decide"
        : "timeout"

const candidatesOf = (fixture: unknown): unknown[] =>
  fixture === undefined ? [] : isSchema(fixture) ? sampleValues(fixture) : Array.isArray(fixture) ? fixture : [fixture]

/** The input paths run with: the given one, else the first sample of the input schema. */
export const pathInput = (pipeline: VerifiablePipeline, options: { readonly input?: unknown }): unknown => {
  if (options.input !== undefined) return options.input
  const [input] = sampleValues(pipeline.input)
  if (input === undefined) throw new RangeError("paths(): cannot generate an input from the pipeline's input schema; pass options.input")
  return input
}

/** The events to explore from one snapshot: each declared route, a failure, each decision route, the deadline. */
const eventsFor = (pipeline: VerifiablePipeline, chart: Chart, options: PathOptions) => {
  const { machine } = pipeline
  const fixtures = options.fixtures ?? {}
  const maxVisits = options.maxVisits ?? 10
  const guards = machine.implementations.guards as Record<string, (args: unknown, params: unknown) => boolean>
  return (snapshot: Snapshot): AnyEventObject[] => {
    const state = chart.states.get(chartStateOf(chart, snapshot.value))
    if (state === undefined || snapshot.status !== "active") return []
    if (state.agent !== undefined) return agentEvents(state, state.agent, snapshot.context, fixtures, maxVisits, options.failures ?? true)
    if ((snapshot.context.visits[state.name] ?? 0) > maxVisits) return []
    const from = state.name
    if (state.kind === "invoked") {
      const output = fixtureOutput(fixtures, from)
      const failing = (options.failures ?? true) || state.transitions.some((transition) => transition.label === "error" && transition.target !== "failed")
      return [
        ...state.routes.map((next) => ({ type: `xstate.done.actor.${from}`, output: { output, next } })),
        ...(failing
          ? [{ type: `xstate.error.actor.${from}`, error: { _tag: "StepCodeError", step: from, retryable: false, message: `simulated failure of "${from}"` } }]
          : []),
      ]
    }
    const fixture = fixtures[from] ?? pipeline.definitions?.get(from)?.decision
    const candidates = candidatesOf(fixture).map((decision) => ({ type: `${from}.decide`, decision }))
    const decisions = state.routes.flatMap((to) => {
      const goesTo = (event: AnyEventObject) =>
        [guards["goes"], guards["stops"]].some((guard) => guard?.({ context: snapshot.context, event }, { from, to }) === true)
      const found = candidates.find(goesTo)
      return found === undefined ? [] : [found]
    })
    return [...decisions, ...(state.deadline ? [{ type: `${from}.expire` }] : [])]
  }
}

// Agents add their tally: each turn of a sub-chart loop is a new state, bounded by the stop rules (or maxVisits).
const serialize = (snapshot: Snapshot) => {
  const agents = Object.entries(snapshot.context.agents ?? {}).map(([step, agent]) => [
    step,
    agent.turns,
    agent.toolCalls,
    agent.toolErrors,
    agent.pending.map((call) => (call as { name: string }).name),
    agent.approvals,
    agent.lastToolCalls,
  ])
  return JSON.stringify([snapshot.value, snapshot.context.visits, snapshot.context.steps, ...(agents.length === 0 ? [] : [agents])])
}

/** Explores the machine with @xstate/graph (loaded on first use) into states and moves. */
const explore = async (pipeline: VerifiablePipeline, options: PathOptions) => {
  const { getAdjacencyMap } = await import("@xstate/graph")
  const chart = readChart(pipeline.machine)
  const input = pathInput(pipeline, options)
  let adjacency
  try {
    adjacency = getAdjacencyMap(withSimulatedRunBudget(pipeline.machine), {
      input: { input },
      events: eventsFor(pipeline, chart, options) as never,
      serializeState: serialize as never,
      limit: 100_000,
    })
  } catch (error) {
    throw new RangeError(
      `paths(): the pipeline has too many states to explore (${error instanceof Error ? error.message : String(error)}); lower options.maxVisits`,
    )
  }
  const nodes = new Map<string, { readonly value: string; readonly edges: Edge[] }>()
  for (const [key, node] of Object.entries(adjacency as Record<string, { readonly state: unknown; readonly transitions: unknown }>)) {
    const before = node.state as unknown as Snapshot
    const transitions = Object.values(node.transitions as Record<string, { readonly event: unknown; readonly state: unknown }>)
    const edges = transitions.flatMap(({ event, state }): Edge[] => {
      const after = state as unknown as Snapshot
      const to = serialize(after)
      if (to === key) return []
      const stopped = after.context.stoppedBy !== before.context.stoppedBy ? after.context.stoppedBy?.step : undefined
      const transition = transitionKey(chartStateOf(chart, before.value), labelOf(event as AnyEventObject), chartStateOf(chart, after.value), stopped)
      return [
        {
          from: key,
          to,
          move: { step: chartStateOf(chart, before.value), event: event as AnyEventObject, target: chartStateOf(chart, after.value), transition },
        },
      ]
    })
    nodes.set(key, { value: chartStateOf(chart, before.value), edges })
  }
  return { nodes, initial: Object.keys(adjacency)[0] as string, input }
}

// "classify → review (timeout) → escalate → done"; a stop rule shows where it sent the run.
const nameOf = (moves: readonly PathStep[]): string => {
  const label = (move: PathStep | undefined) => {
    const kind = move === undefined ? "done" : labelOf(move.event)
    return kind === "error" || kind === "timeout" ? ` (${kind})` : ""
  }
  const stop = (move: PathStep) => / \(stop rule of \S+\)$/.exec(move.transition)?.[0] ?? ""
  const first = moves[0]
  if (first === undefined) return ""
  return [`${first.step}${label(first)}`, ...moves.map((move, index) => `${move.target}${stop(move)}${label(moves[index + 1])}`)].join(" → ")
}

const toPath = (moves: readonly PathStep[], input: unknown): PipelinePath => ({
  name: nameOf(moves),
  input,
  steps: moves,
  final: moves.at(-1)?.target as PipelinePath["final"],
  transitions: moves.map((move) => move.transition),
})

/**
 * Enumerates the paths of a pipeline from its first step to `done`, `failed` or `stopped`, with the
 * machine events that take each one. Loops are followed until their stop rules end them (or
 * `maxVisits`). Human decisions come from `fixtures`; a route no candidate decision takes is left
 * out (see {@link coverage}). Loads `@xstate/graph` on first use, so it is async.
 *
 * @example
 * const all = await paths(supportTriage, { fixtures: { review: ReviewDecision } })
 * all.map((path) => path.name) // ["classify → answer → done", "classify → review → answer → done", …]
 */
export const paths = async (pipeline: VerifiablePipeline, options: PathOptions = {}): Promise<PipelinePath[]> => {
  const { nodes, initial, input } = await explore(pipeline, options)
  const found = options.kind === "simple" ? simplePaths(nodes, initial, options.maxPaths ?? 1000) : coveringPaths(nodes, initial)
  const seen = new Map<string, number>()
  const rank = (moves: readonly PathStep[]) => finalOrder.indexOf(moves.at(-1)?.target as (typeof finalOrder)[number])
  found.sort((left, right) => rank(left) - rank(right) || left.length - right.length)
  return found.map((moves) => {
    const path = toPath(moves, input)
    const count = (seen.get(path.name) ?? 0) + 1
    seen.set(path.name, count)
    return count === 1 ? path : { ...path, name: `${path.name} #${count}` }
  })
}

const finalOrder = ["done", "stopped", "failed"] as const

type Nodes = ReadonlyMap<string, { readonly value: string; readonly edges: readonly Edge[] }>

// Shortest way to each state, shortest way from each state to an end; then, transition by
// transition in breadth-first order, one path through each transition no earlier path took.
const coveringPaths = (nodes: Nodes, initial: string): PathStep[][] => {
  const into = new Map<string, Edge>()
  const order: Edge[] = []
  const queue = [initial]
  const reached = new Set([initial])
  for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
    for (const edge of nodes.get(key)?.edges ?? []) {
      order.push(edge)
      if (!reached.has(edge.to)) reached.add(edge.to), into.set(edge.to, edge), queue.push(edge.to)
    }
  }
  const toEnd = new Map<string, Edge | null>()
  const backwards = new Map<string, Edge[]>()
  for (const node of nodes.values()) for (const edge of node.edges) backwards.set(edge.to, [...(backwards.get(edge.to) ?? []), edge])
  // Finish the way a run should: by `done` when the state can, else `stopped`, else `failed`.
  for (const final of finalOrder) {
    const ends = [...nodes].filter(([, node]) => node.value === final).map(([key]) => key)
    for (const key of ends) toEnd.set(key, null)
    for (let key = ends.shift(); key !== undefined; key = ends.shift()) {
      for (const edge of backwards.get(key) ?? []) if (!toEnd.has(edge.from)) toEnd.set(edge.from, edge), ends.push(edge.from)
    }
  }
  const prefix = (key: string): PathStep[] => {
    const moves: PathStep[] = []
    for (let edge = into.get(key); edge !== undefined; edge = into.get(edge.from)) moves.unshift(edge.move)
    return moves
  }
  const suffix = (key: string): PathStep[] => {
    const moves: PathStep[] = []
    for (let edge = toEnd.get(key); edge !== undefined && edge !== null; edge = toEnd.get(edge.to)) moves.push(edge.move)
    return moves
  }
  const covered = new Set<string>()
  const found: PathStep[][] = []
  for (const edge of order) {
    if (covered.has(edge.move.transition) || !toEnd.has(edge.to)) continue
    const moves = [...prefix(edge.from), edge.move, ...suffix(edge.to)]
    for (const move of moves) covered.add(move.transition)
    found.push(moves)
  }
  return found
}

const simplePaths = (nodes: Nodes, initial: string, maxPaths: number): PathStep[][] => {
  const found: PathStep[][] = []
  const visiting = new Set<string>()
  const walk = (key: string, moves: PathStep[]) => {
    const node = nodes.get(key)
    if (node === undefined) return
    if (finalStates.has(node.value)) {
      if (found.length >= maxPaths) throw new RangeError(`paths(): more than ${maxPaths} simple paths; use kind "shortest", lower maxVisits or raise maxPaths`)
      found.push(moves)
      return
    }
    visiting.add(key)
    for (const edge of node.edges) if (!visiting.has(edge.to)) walk(edge.to, [...moves, edge.move])
    visiting.delete(key)
  }
  walk(initial, [])
  return found
}

/**
 * Transition coverage: which of the machine's transitions the given paths (or simulations) take.
 * Not counted: `run.cancel` and a journal that stops the run (any state, to failed), and the
 * RouteError fallback of each route.
 *
 * @example
 * const { covered, total, uncovered } = coverage(supportTriage, await paths(supportTriage, { fixtures }))
 * // uncovered: ["review --decide--> lookupOrder"] when no fixture decision routes there
 */
export const coverage = (
  pipeline: { readonly machine: AnyStateMachine },
  taken: ReadonlyArray<{ readonly transitions: readonly string[] }>,
): { readonly covered: number; readonly total: number; readonly uncovered: readonly string[] } => {
  const all = [...new Set(transitionsOf(readChart(pipeline.machine)).map((transition) => transition.key))]
  const seen = new Set(taken.flatMap((path) => path.transitions))
  const uncovered = all.filter((key) => !seen.has(key))
  return { covered: all.length - uncovered.length, total: all.length, uncovered }
}
