import type { PendingCall } from "../compile/agent-conversation.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { parseApproval } from "../definition/steps/approval.ts"
import { jsonIssue } from "./json-values.ts"
import { DecisionError } from "./result.ts"

/** What a person deciding sees (the `human.waiting` prompt). */
export const approvalPrompt = (step: string, call: PendingCall): string =>
  `Agent "${step}" wants to call ${call.name}(${JSON.stringify(call.arguments)}) (call ${call.id}): approve, reject with a reason, or edit the arguments`

/**
 * The refusal of a decision that came after its wait's deadline: the timeout route applies (a
 * human step's `timeout` edge; for an agent's tool call, the call is refused) and the run is unchanged.
 */
export const lateDecision = (step: string, deadline: number, now = Date.now()): DecisionError =>
  new DecisionError(
    "late",
    `decision for "${step}" refused: its deadline passed at ${new Date(deadline).toISOString()} (${Math.max(0, now - deadline)} ms before it arrived), ` +
      "so the timeout route applies instead; the run is unchanged",
  )

/** Checks an approval decision for an agent step; throws a DecisionError naming what is wrong. */
export const checkApproval = (step: string, current: string, status: string, decision: unknown): unknown => {
  if (status !== "active" || (current !== step && current !== `${step}.awaitingApproval`)) {
    throw new DecisionError("not-waiting", `the run is not waiting on an approval in "${step}" (it is at "${current}")`)
  }
  const parsed = parseApproval(decision)
  if (!parsed.success) throw new DecisionError("invalid-decision", `approval decision for "${step}" is invalid`, parsed.issues)
  return jsonDecision(step, parsed.data)
}

/** Validates a human decision for the run's current state; throws a DecisionError naming what is wrong. */
export const checkDecision = (graph: PipelineGraph, current: string, status: string, step: string, decision: unknown): unknown => {
  const definition = graph.steps.get(step)
  if (definition === undefined) throw new DecisionError("not-human-step", `"${step}" is not a step of pipeline "${graph.id}"`)
  if (definition.kind === "agent") return checkApproval(step, current, status, decision)
  if (definition.kind !== "human") throw new DecisionError("not-human-step", `"${step}" is a ${definition.kind} step, not a human step`)
  if (status !== "active" || current !== step) throw new DecisionError("not-waiting", `the run is not waiting on "${step}" (it is at "${current}")`)
  const parsed = definition.decision.safeParse(decision)
  if (!parsed.success) {
    throw new DecisionError(
      "invalid-decision",
      `decision for "${step}" is invalid`,
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message })),
    )
  }
  return jsonDecision(step, parsed.data)
}

// A decision is journaled and replayed: one a journal would change or refuse is refused here, run unchanged.
const jsonDecision = (step: string, decision: unknown): unknown => {
  const issue = jsonIssue(decision)
  if (issue !== undefined) throw new DecisionError("invalid-decision", `decision for "${step}" is not a JSON value`, [issue])
  return decision
}
