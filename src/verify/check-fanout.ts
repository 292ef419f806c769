// Checks of fan-out steps: they need the step definitions, which the machine config does not carry.
import type { AnyStateMachine } from "xstate"
import { approvalTimeoutMs, asksApproval } from "../definition/steps/approval.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { readChart } from "./chart.ts"
import type { Finding } from "./check.ts"

/** Whether a run of this machine can end `done` (some path from its first step reaches it). */
const canFinish = (machine: AnyStateMachine): boolean => {
  const chart = readChart(machine)
  const reached = new Set([chart.initial])
  const queue = [chart.initial]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const transition of chart.states.get(name)?.transitions ?? []) {
      for (const next of [transition.target, transition.stoppedAt]) if (next !== undefined && !reached.has(next)) reached.add(next), queue.push(next)
    }
  }
  return reached.has("done")
}

// The human steps (and agents whose approvals have no timeout) a unit waits on without a deadline, by path.
const waitsWithoutDeadline = (unit: AnyStep, path: string): string[] => {
  if (unit.kind === "human") return unit.timeout === undefined ? [path] : []
  if (unit.kind === "agent") {
    const open = Object.values(unit.tools).some((tool) => asksApproval(tool.approval) && approvalTimeoutMs(tool.approval, unit.approval?.timeout) === undefined)
    return open ? [path] : []
  }
  const nested = nestedOf(unit)
  if (nested === undefined) return []
  return [...nested.definitions].flatMap(([name, step]) => waitsWithoutDeadline(step, `${path}.${name}`))
}

const nestedOf = (step: AnyStep): { readonly machine: AnyStateMachine; readonly definitions: ReadonlyMap<string, AnyStep>; readonly id: string } | undefined =>
  step.kind === "pipeline" ? step.pipeline : undefined

/**
 * Fan-out findings of a pipeline's steps (and of the pipelines nested in them, under their path):
 * a `map` with no concurrency cap over a list of unknown length, and a parallel branch or map
 * item that is a pipeline with no way to `done` (so the step can never succeed).
 */
export const fanoutFindings = (definitions: ReadonlyMap<string, AnyStep>, prefix = ""): Finding[] => {
  const findings: Finding[] = []
  const noWayOut = (path: string, unit: AnyStep, what: string) => {
    const nested = nestedOf(unit)
    if (nested === undefined) return
    if (!canFinish(nested.machine)) {
      findings.push({
        severity: "error",
        code: "branch-no-way-out",
        steps: [path],
        message: `${what} "${path}" runs pipeline "${nested.id}", which has no path to "done": the step can never succeed`,
        fix: `give pipeline "${nested.id}" a route to "done", or replace the ${what}`,
      })
    }
    findings.push(...fanoutFindings(nested.definitions, `${path}.`))
  }
  for (const [name, step] of definitions) {
    const path = `${prefix}${name}`
    if (step.kind === "map") {
      if (step.concurrency === undefined && step.maxItems === undefined) {
        findings.push({
          severity: "warning",
          code: "map-without-concurrency",
          steps: [path],
          message: `map step "${path}" has no concurrency cap over a list of unknown length: every item starts at once`,
          fix: `set map({ ..., concurrency: n }) (or maxItems to bound the list)`,
        })
      }
      const asks = waitsWithoutDeadline(step.each, `${path}[]`)
      if (step.maxItems === undefined && asks.length > 0) {
        findings.push({
          severity: "warning",
          code: "map-of-approvals-unbounded",
          steps: [path],
          message: `map step "${path}" waits for a person on every item (${asks.join(", ")}) with neither maxItems nor a deadline: a long list leaves as many decisions open, for ever`,
          fix: `set map({ ..., maxItems: n }), or give the human step a timeout (and a timeout route)`,
        })
      }
      noWayOut(`${path}[]`, step.each, "map item")
    } else if (step.kind === "parallel") {
      for (const [branch, unit] of Object.entries(step.branches)) noWayOut(`${path}.${branch}`, unit, "parallel branch")
    } else {
      const nested = nestedOf(step)
      if (nested !== undefined) findings.push(...fanoutFindings(nested.definitions, `${path}.`))
    }
  }
  return findings
}
