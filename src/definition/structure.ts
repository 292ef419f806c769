import type { PipelineStructure } from "../contract/events.ts"
import type { PipelineGraph } from "./graph.ts"
import { timedApprovalToolsOf } from "./steps/agent.ts"

/** The graph as data, stored with `run.started`. */
export const structureOf = (graph: PipelineGraph): PipelineStructure => ({
  steps: [...graph.steps].map(([name, step]) => {
    const edge = graph.edges.get(name)
    return {
      name,
      kind: step.kind,
      next: [...(edge?.targets ?? [])],
      ...(edge?.error === undefined ? {} : { error: edge.error }),
      ...(edge?.timeout === undefined ? {} : { timeout: edge.timeout }),
      ...(edge?.stopped === undefined ? {} : { stopped: edge.stopped }),
      ...(edge?.empty === undefined ? {} : { empty: edge.empty }),
      ...(edge === undefined || edge.stop.length === 0 ? {} : { stop: edge.stop.map((rule) => rule.name) }),
      // An agent's own stop rules: shown on its stopped edge, and a change is a structure change.
      ...(step.kind === "agent" ? { agentStop: step.stop.map((rule) => rule.name), tools: Object.keys(step.tools) } : {}),
      // Tools whose approval has a deadline: a pause of the agent then has a timeout route (the call is refused).
      ...(step.kind === "agent" && timedApprovalToolsOf(step).length > 0 ? { approvalTimeouts: timedApprovalToolsOf(step) } : {}),
    }
  }),
})

/** What changed between two structures, one line per step; empty when they are the same. */
export const structureChanges = (before: PipelineStructure, after: PipelineStructure): string[] => {
  const old = new Map(before.steps.map((step) => [step.name, step]))
  const now = new Map(after.steps.map((step) => [step.name, step]))
  const changes: string[] = []
  for (const name of old.keys()) if (!now.has(name)) changes.push(`step "${name}" was removed`)
  for (const [name, step] of now) {
    const previous = old.get(name)
    if (previous === undefined) changes.push(`step "${name}" was added`)
    else if (stableJson(previous) !== stableJson(step)) changes.push(`step "${name}" changed: ${JSON.stringify(previous)} → ${JSON.stringify(step)}`)
  }
  return changes
}

// Key order is not meaning: a store may hand JSON back with its keys reordered.
const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_, field: unknown) =>
    field !== null && typeof field === "object" && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([left], [right]) => left.localeCompare(right)))
      : field,
  )
