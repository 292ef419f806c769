// Where a run of a pipeline can wait for a person, known before any run: every human step and
// every agent whose tools ask for approval, at any depth (parallel branches, map items, nested
// pipelines), each by the address pattern its waits will have, and which can be pending together.
import { toMillis } from "../contract/duration.ts"
import { approvalTimeoutMs, asksApproval } from "../definition/steps/approval.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { decisionSchemaOf } from "../run/decisions.ts"

/** One place a run can wait for a person. */
export interface DecisionPoint {
  /**
   * The address pattern of its waits: `review`, `brief.legal`, `refunds[]` (one wait per item:
   * `refunds[0]`, `refunds[1]`, …), `orders[].approve`, `ticket.refund`.
   */
  readonly path: string
  /** The pipeline's own step it is inside. */
  readonly step: string
  readonly kind: "human" | "approval"
  /** Whether several waits of it can be pending at once (it sits inside a map item). */
  readonly many: boolean
  /** How long a wait lasts before its timeout route (ms); null without a deadline. */
  readonly timeoutMs: number | null
  /** The JSON Schema of its decision. */
  readonly decision: Readonly<Record<string, unknown>>
  /** The other decision points that can be pending at the same time (inside the same step of the pipeline). */
  readonly together: readonly string[]
}

/**
 * Every place a run of the pipeline can wait for a person, with the decisions that can be pending together.
 *
 * @example
 * decisionPoints(refunds).map((point) => point.path) // ["approve[]"]
 */
export const decisionPoints = (pipeline: { readonly definitions: ReadonlyMap<string, AnyStep> }): DecisionPoint[] => {
  // Each point with the parallel branches it sits in (`brief` → `legal`), to tell which can wait at once.
  const points: Array<Omit<DecisionPoint, "together"> & { readonly lanes: ReadonlyMap<string, string> }> = []
  const visit = (unit: AnyStep, path: string, step: string, many: boolean, lanes: ReadonlyMap<string, string> = new Map()) => {
    if (unit.kind === "human") {
      const timeoutMs = unit.timeout === undefined ? null : toMillis(unit.timeout)
      points.push({ path, step, kind: "human", many, timeoutMs, decision: decisionSchemaOf(unit), lanes })
    } else if (unit.kind === "agent") {
      const asking = Object.values(unit.tools).filter((tool) => asksApproval(tool.approval))
      if (asking.length === 0) return
      const timeouts = asking.map((tool) => approvalTimeoutMs(tool.approval, unit.approval?.timeout))
      const timeoutMs = timeouts.some((timeout) => timeout === undefined) ? null : Math.max(...(timeouts as number[]))
      points.push({ path, step, kind: "approval", many, timeoutMs, decision: decisionSchemaOf(unit), lanes })
    } else if (unit.kind === "parallel") {
      for (const [branch, inner] of Object.entries(unit.branches)) visit(inner, `${path}.${branch}`, step, many, new Map([...lanes, [path, branch]]))
    } else if (unit.kind === "map") visit(unit.each as AnyStep, `${path}[]`, step, true, lanes)
    else if (unit.kind === "pipeline") {
      for (const [name, inner] of unit.pipeline.definitions) visit(inner, `${path}.${name}`, step, many, lanes)
    }
  }
  for (const [name, step] of pipeline.definitions) visit(step, name, name, false)
  // Two waits of one step of the pipeline are open at once when they sit in different branches of
  // a parallel step, or in different items of a map; steps of one nested pipeline come one at a time.
  const together = (one: (typeof points)[number], other: (typeof points)[number]) =>
    one.step === other.step && (one.many || other.many || [...one.lanes].some(([parallel, branch]) => (other.lanes.get(parallel) ?? branch) !== branch))
  return points.map(({ lanes: _lanes, ...point }, index) => ({
    ...point,
    together: points.filter((other, at) => at !== index && together(points[index] as (typeof points)[number], other)).map((other) => other.path),
  }))
}
