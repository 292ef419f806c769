import {
  aFunction,
  aPositiveNumber,
  aStopRule,
  aString,
  aZodSchema,
  type Check,
  describeValue,
  expectValue,
  fieldsOf,
  isRecord,
  listOf,
  optional,
} from "./check-arguments.ts"
import { aPolicy } from "./check-steps.ts"
import { type NormalizedEdge, normalizeEdge } from "./edges.ts"
import type { AnyStep } from "./steps/step.ts"

/** One thing wrong with a pipeline's graph, naming the steps involved. */
export interface GraphProblem {
  readonly steps: readonly string[]
  readonly message: string
}

const reservedNames = new Set(["done", "failed", "stopped"])
const stepNamePattern = /^[A-Za-z][A-Za-z0-9_-]*$/
// `steps.toString` would read Object.prototype's before the step has run, and an output keyed by
// it would shadow what every object has: such a name cannot key a record of outputs.
const objectProperties = new Set(Object.getOwnPropertyNames(Object.prototype))

/** Checks a step name when it is added; returns the problem or undefined. */
export const checkStepName = (name: unknown, existing: ReadonlyMap<string, unknown>): string | undefined => {
  if (typeof name !== "string") return `a step name must be a string, got ${describeValue(name)}`
  if (!stepNamePattern.test(name)) return `step name "${name}" must start with a letter and use only letters, digits, "_" or "-"`
  if (reservedNames.has(name)) return `step name "${name}" is reserved (done, failed and stopped are the run's final states)`
  if (objectProperties.has(name)) {
    return `step name "${name}" is reserved: every JavaScript object has the property "${name}" (from Object.prototype), so it cannot name a step's output`
  }
  if (existing.has(name)) return `step "${name}" is declared twice`
  return undefined
}

const aPipelineId = expectValue(
  'an id that starts with a letter and uses letters, digits, "_", "-" or "."',
  (value) => typeof value === "string" && /^[A-Za-z][\w.-]*$/.test(value),
)
const aBudget = fieldsOf({ tokens: optional(aPositiveNumber), usd: optional(aPositiveNumber), ms: optional(aPositiveNumber) }, "a budget ({ tokens, usd, ms })")

/**
 * Checks the options of `pipeline(options)` as plain JavaScript passes them: the problems, each naming its field.
 *
 * @example
 * checkPipelineOptions({ input: z.object({}) }) // ['pipeline({ ... }).id must be an id that starts with a letter …, got undefined']
 */
export const checkPipelineOptions = (options: unknown): readonly string[] =>
  isRecord(options)
    ? fieldsOf({ id: aPipelineId, input: aZodSchema, description: optional(aString), policy: optional(aPolicy), budget: optional(aBudget) })(
        options,
        "pipeline({ ... })",
      )
    : [`pipeline(options) must be an object { id, input }, got ${describeValue(options)}`]

// The edge forms, as plain JavaScript may pass them; normalizeEdge then reads a checked edge.
const isRoute = (value: unknown): boolean => isRecord(value) && value["kind"] === "route"
const aRoute = fieldsOf({ targets: listOf(aString, "a list of target names"), select: aFunction, name: optional(aString) }, "", ["kind"])
const aNext: Check = (value, where) =>
  typeof value === "string"
    ? []
    : isRoute(value)
      ? aRoute(value, where)
      : [`${where} must be a step name, "done" or route([...], fn), got ${describeValue(value)}`]
const aStopRules: Check = (value, where) => (Array.isArray(value) ? listOf(aStopRule, "a list of stop rules")(value, where) : aStopRule(value, where))
const aLongEdge = fieldsOf(
  { next: aNext, error: optional(aString), timeout: optional(aString), stop: optional(aStopRules), stopped: optional(aString), empty: optional(aString) },
  'an edge: a step name, "done", route([...], fn) or { next, ... }',
)
const anEdge: Check = (value, where) => (typeof value === "string" ? [] : isRoute(value) ? aRoute(value, where) : aLongEdge(value, where))

/**
 * Normalizes the edges and checks the graph: every step has an edge, every target exists,
 * every step is reachable from the first one, and every cycle has a stop rule on one of its steps.
 */
export const validateGraph = (
  steps: ReadonlyMap<string, AnyStep>,
  rawEdges: unknown,
): { readonly edges: ReadonlyMap<string, NormalizedEdge>; readonly problems: readonly GraphProblem[] } => {
  const problems: GraphProblem[] = []
  const edges = new Map<string, NormalizedEdge>()
  if (steps.size === 0) problems.push({ steps: [], message: "a pipeline needs at least one step" })
  if (!isRecord(rawEdges)) {
    problems.push({ steps: [], message: `edges(...) must be an object with an edge for each step ({ step: "next" }), got ${describeValue(rawEdges)}` })
    return { edges, problems }
  }
  for (const name of Object.keys(rawEdges)) {
    if (!steps.has(name)) problems.push({ steps: [name], message: `edges name "${name}", which is not a step of this pipeline` })
  }
  const isTarget = (target: string) => target === "done" || steps.has(target)
  for (const [name, step] of steps) {
    if (!Object.hasOwn(rawEdges, name)) {
      problems.push({ steps: [name], message: `step "${name}" has no edge: add edges.${name} (a step name, "done", or a route)` })
      continue
    }
    const wrong = anEdge(rawEdges[name], `edges.${name}`)
    if (wrong.length > 0) {
      problems.push(...wrong.map((message) => ({ steps: [name], message })))
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
