import type { AnyStateMachine } from "xstate"
import type { AnyStep } from "../definition/steps/step.ts"
import { type Chart, finalStates, readChart } from "./chart.ts"
import { fanoutFindings } from "./check-fanout.ts"
import { stopRuleFindings } from "./check-stop-rules.ts"

/** What a finding is about. Errors make a pipeline unsound; warnings are runs that can hang or end badly. */
export type FindingCode =
  | "unreachable-step"
  | "no-way-out"
  | "loop-without-stop-rule"
  | "never-done"
  | "human-without-timeout"
  | "human-timeout-fails"
  | "approval-without-timeout"
  | "map-without-concurrency"
  | "branch-no-way-out"
  | "map-of-approvals-unbounded"
  | "stop-rule-unknown-tool"

/**
 * One problem `check` found: which steps, what is wrong, and how to fix it.
 *
 * @example
 * const finding: Finding = {
 *   severity: "warning", code: "human-without-timeout", steps: ["review"],
 *   message: 'human step "review" has no timeout: a run can wait for it forever',
 *   fix: 'set human({ ..., timeout: "24h" }) and edges.review.timeout to the step that takes over',
 * }
 */
export interface Finding {
  readonly severity: "error" | "warning"
  readonly code: FindingCode
  readonly steps: readonly string[]
  readonly message: string
  readonly fix: string
}

/**
 * Checks a built pipeline's chart (or any machine of the same shape) and returns what is wrong,
 * errors first: unreachable steps, steps with no way to a final state, loops without a stop rule
 * (errors; `pipeline().edges()` already rejects these, so they show up in machines edited or
 * assembled by hand), steps that can never end `done`, human steps without a deadline,
 * deadlines that fail the run, and agent tools whose approval has no deadline (warnings). Given the step definitions (every built pipeline has
 * them), it also flags a `map` with no concurrency cap over a list of unknown length (warning) and
 * a parallel branch or map item that is a pipeline with no way to `done` (error).
 *
 * A route that returns a target it did not declare cannot be seen statically; at run time the
 * run ends `failed` with a `RouteError` naming the step and the target.
 *
 * @example
 * const errors = check(supportTriage).filter((finding) => finding.severity === "error")
 * if (errors.length > 0) throw new Error(errors.map((finding) => `${finding.message}: ${finding.fix}`).join("\n"))
 */
export const check = (pipeline: { readonly machine: AnyStateMachine; readonly definitions?: ReadonlyMap<string, AnyStep> }): Finding[] => {
  const chart = readChart(pipeline.machine)
  const findings = [
    ...soundness(chart),
    ...humanDeadlines(chart),
    ...approvalDeadlines(chart),
    ...(pipeline.definitions === undefined ? [] : fanoutFindings(pipeline.definitions)),
    ...(pipeline.definitions === undefined ? [] : stopRuleFindings(pipeline.definitions)),
  ]
  return [...findings.filter((finding) => finding.severity === "error"), ...findings.filter((finding) => finding.severity === "warning")]
}

const successorsIn =
  (chart: Chart) =>
  (name: string): string[] => [
    ...new Set(
      (chart.states.get(name)?.transitions ?? []).flatMap((transition) => [
        transition.target,
        ...(transition.stoppedAt === undefined ? [] : [transition.stoppedAt]),
      ]),
    ),
  ]

const reachableFrom = (start: string, successors: (name: string) => readonly string[]): Set<string> => {
  const reached = new Set([start])
  const queue = [start]
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const next of successors(name)) if (!reached.has(next)) reached.add(next), queue.push(next)
  }
  return reached
}

const quoted = (steps: readonly string[]) => steps.map((step) => `"${step}"`).join(", ")

const soundness = (chart: Chart): Finding[] => {
  const findings: Finding[] = []
  const successors = successorsIn(chart)
  const names = [...chart.states.keys()]
  const reached = reachableFrom(chart.initial, successors)
  const unreachable = names.filter((name) => !reached.has(name))
  if (unreachable.length > 0) {
    findings.push({
      severity: "error",
      code: "unreachable-step",
      steps: unreachable,
      message: `no transition from "${chart.initial}" (the first step) ever reaches ${quoted(unreachable)}`,
      fix: `route to ${quoted(unreachable)} from a reachable step's edge, or remove ${unreachable.length === 1 ? "it" : "them"}`,
    })
  }
  for (const name of names) {
    const ahead = reachableFrom(name, successors)
    if (![...finalStates].some((final) => ahead.has(final))) {
      findings.push({
        severity: "error",
        code: "no-way-out",
        steps: [name],
        message: `step "${name}" has no path to done, failed or stopped: a run that enters it never ends`,
        fix: `give edges.${name} (or a step after it) a route to "done", or a stop rule on a step of its loop`,
      })
    } else if (!ahead.has("done")) {
      findings.push({
        severity: "warning",
        code: "never-done",
        steps: [name],
        message: `step "${name}" has no path to "done": every run through it ends failed or stopped`,
        fix: `add "done" (or a step that reaches it) to edges.${name}, or a stopped: edge to a step that finishes`,
      })
    }
  }
  for (const cycle of stronglyConnected(names, (name) => successors(name).filter((next) => chart.states.has(next)))) {
    const loops = cycle.length > 1 || successors(cycle[0] as string).includes(cycle[0] as string)
    if (loops && !cycle.some((name) => chart.stopRuled.has(name))) {
      findings.push({
        severity: "error",
        code: "loop-without-stop-rule",
        steps: cycle,
        message: `loop without a stop rule: ${[...cycle, cycle[0]].join(" → ")}; a run can go round it forever`,
        fix: `add stop: maxVisits(n) (or when(...)) to the edge of one of ${quoted(cycle)}`,
      })
    }
  }
  return findings
}

const humanDeadlines = (chart: Chart): Finding[] =>
  [...chart.states.values()].flatMap((state): Finding[] => {
    // An agent's approval pause is a tool's choice, not a human step: no deadline to set there.
    if (state.kind !== "human" || state.agent !== undefined) return []
    if (!state.deadline) {
      return [
        {
          severity: "warning",
          code: "human-without-timeout",
          steps: [state.name],
          message: `human step "${state.name}" has no timeout: a run can wait for it forever`,
          fix: `set human({ ..., timeout: "24h" }) and edges.${state.name}.timeout to the step that takes over`,
        },
      ]
    }
    if (state.transitions.some((transition) => transition.label === "timeout" && transition.target === "failed" && transition.stoppedAt === undefined)) {
      return [
        {
          severity: "warning",
          code: "human-timeout-fails",
          steps: [state.name],
          message: `human step "${state.name}" fails the run when its deadline passes`,
          fix: `set edges.${state.name}.timeout to a step that handles a missing decision (escalate, a default)`,
        },
      ]
    }
    return []
  })

// A call that asks a person without a deadline can hold its run in awaiting-human forever.
const approvalDeadlines = (chart: Chart): Finding[] =>
  [...chart.states.values()].flatMap((state): Finding[] => {
    if (state.agent?.phase !== "awaitingApproval") return []
    const { step, approvalTools, approvalTimeouts } = state.agent
    const waiting = approvalTools.filter((tool) => !approvalTimeouts.includes(tool))
    if (waiting.length === 0) return []
    const tools = waiting.map((tool) => `"${tool}"`).join(", ")
    return [
      {
        severity: "warning",
        code: "approval-without-timeout",
        steps: [step],
        message: `agent "${step}": the approval of ${tools} has no timeout: a run can wait for a person forever`,
        fix:
          `set approval: { timeout: "4h" } on ${waiting.length === 1 ? "the tool" : "each tool"} (with when: for a predicate), or agent({ ..., approval: { timeout: "4h" } }) ` +
          "for all of the agent's approvals: past the deadline the call is refused and the agent goes on",
      },
    ]
  })

/** Tarjan's algorithm: strongly connected components, each in discovery order. */
const stronglyConnected = (nodes: readonly string[], successors: (node: string) => readonly string[]): string[][] => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.size - 1)
    stack.push(node)
    onStack.add(node)
    for (const next of successors(node)) {
      if (!index.has(next)) visit(next)
      if (onStack.has(next)) low.set(node, Math.min(low.get(node) as number, low.get(next) as number))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    for (let member = stack.pop(); member !== undefined; member = member === node ? undefined : stack.pop()) {
      onStack.delete(member)
      component.push(member)
    }
    components.push(component.reverse())
  }
  for (const node of nodes) if (!index.has(node)) visit(node)
  return components
}
