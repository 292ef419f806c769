import { type NormalizedEdge, normalizeEdge } from "./edges.ts"
import type { AnyStep } from "./steps/step.ts"

/** One thing wrong with a pipeline's graph, naming the steps involved. */
export interface GraphProblem {
  readonly steps: readonly string[]
  readonly message: string
}

const reservedNames = new Set(["done", "failed", "stopped"])
const stepNamePattern = /^[A-Za-z][A-Za-z0-9_-]*$/

/** Checks a step name when it is added; returns the problem or undefined. */
export const checkStepName = (name: string, existing: ReadonlyMap<string, unknown>): string | undefined => {
  if (!stepNamePattern.test(name)) return `step name "${name}" must start with a letter and use only letters, digits, "_" or "-"`
  if (reservedNames.has(name)) return `step name "${name}" is reserved (done, failed and stopped are the run's final states)`
  if (existing.has(name)) return `step "${name}" is declared twice`
  return undefined
}

/**
 * Normalizes the edges and checks the graph: every step has an edge, every target exists,
 * every step is reachable from the first one, and every cycle has a stop rule on one of its steps.
 */
export const validateGraph = (
  steps: ReadonlyMap<string, AnyStep>,
  rawEdges: Readonly<Record<string, unknown>>,
): { readonly edges: ReadonlyMap<string, NormalizedEdge>; readonly problems: readonly GraphProblem[] } => {
  const problems: GraphProblem[] = []
  const edges = new Map<string, NormalizedEdge>()
  if (steps.size === 0) problems.push({ steps: [], message: "a pipeline needs at least one step" })
  for (const name of Object.keys(rawEdges)) {
    if (!steps.has(name)) problems.push({ steps: [name], message: `edges name "${name}", which is not a step of this pipeline` })
  }
  const isTarget = (target: string) => target === "done" || steps.has(target)
  for (const [name, step] of steps) {
    if (!Object.hasOwn(rawEdges, name)) {
      problems.push({ steps: [name], message: `step "${name}" has no edge: add edges.${name} (a step name, "done", or a route)` })
      continue
    }
    const edge = normalizeEdge(rawEdges[name])
    if (edge === undefined) {
      problems.push({ steps: [name], message: `edges.${name} is not an edge: use a step name, "done", route([...], fn) or { next, ... }` })
      continue
    }
    edges.set(name, edge)
    if (edge.targets.length === 0) problems.push({ steps: [name], message: `edges.${name}: a route needs at least one target` })
    const labelled: Array<[string, string | undefined]> = [
      ...edge.targets.map((target): [string, string] => ["next", target]),
      ["error", edge.error],
      ["timeout", edge.timeout],
      ["stopped", edge.stopped],
      ["empty", edge.empty],
    ]
    for (const [label, target] of labelled) {
      if (target !== undefined && !isTarget(target)) {
        problems.push({ steps: [name, target], message: `edges.${name}.${label} goes to "${target}", which is not a step of this pipeline (nor "done")` })
      }
    }
    if (edge.timeout !== undefined && (step.kind !== "human" || step.timeout === undefined)) {
      problems.push({ steps: [name], message: `edges.${name}.timeout is only for human steps that set a timeout` })
    }
    if (edge.empty !== undefined && step.kind !== "retrieve") {
      problems.push({ steps: [name], message: `edges.${name}.empty is only for retrieve steps (it is taken when no passage is relevant)` })
    }
    // An agent step has its own stop rules (in the step), so its stopped edge needs none here.
    if (edge.stopped !== undefined && edge.stop.length === 0 && step.kind !== "agent") {
      problems.push({ steps: [name], message: `edges.${name}.stopped is set but the step has no stop rule (add stop: maxVisits(n) or when(...))` })
    }
  }
  if (problems.length > 0) return { edges, problems }
  const successors = (name: string): string[] => {
    const edge = edges.get(name)
    if (edge === undefined) return []
    return [...edge.targets, edge.error, edge.timeout, edge.stopped].filter((target): target is string => target !== undefined && target !== "done")
  }
  const first = steps.keys().next().value as string
  const reached = new Set<string>([first])
  const queue = [first]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const next of successors(name)) if (!reached.has(next)) reached.add(next), queue.push(next)
  }
  const unreachable = [...steps.keys()].filter((name) => !reached.has(name))
  if (unreachable.length > 0) {
    problems.push({ steps: unreachable, message: `unreachable from "${first}" (the first step): ${unreachable.map((name) => `"${name}"`).join(", ")}` })
  }
  for (const cycle of stronglyConnected([...steps.keys()], successors)) {
    const loops = cycle.length > 1 || successors(cycle[0] ?? "").includes(cycle[0] ?? "")
    if (loops && !cycle.some((name) => (edges.get(name)?.stop.length ?? 0) > 0)) {
      problems.push({
        steps: cycle,
        message: `loop without a stop rule: ${cycle.join(" → ")} → ${cycle[0]}; add stop: maxVisits(n) (or when(...)) to the edge of one of these steps`,
      })
    }
  }
  return { edges, problems }
}

/** Tarjan's algorithm: the strongly connected components, each in discovery order. */
const stronglyConnected = (nodes: readonly string[], successors: (node: string) => readonly string[]): string[][] => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const components: string[][] = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node) ?? 0)
    stack.push(node)
    onStack.add(node)
    for (const next of successors(node)) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string | undefined
      do {
        member = stack.pop()
        if (member === undefined) break
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      components.push(component.reverse())
    }
  }
  for (const node of nodes) if (!index.has(node)) visit(node)
  return components
}
