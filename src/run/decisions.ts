import type { PendingCall } from "../compile/agent-conversation.ts"
import { parseApproval } from "../definition/steps/approval.ts"
import { DecisionError } from "./result.ts"

/** What a person deciding sees (the `human.waiting` prompt). */
export const approvalPrompt = (step: string, call: PendingCall): string =>
  `Agent "${step}" wants to call ${call.name}(${JSON.stringify(call.arguments)}) (call ${call.id}): approve, reject with a reason, or edit the arguments`

/** Checks an approval decision for an agent step; throws a DecisionError naming what is wrong. */
export const checkApproval = (step: string, current: string, status: string, decision: unknown): unknown => {
  if (status !== "active" || (current !== step && current !== `${step}.awaitingApproval`)) {
    throw new DecisionError("not-waiting", `the run is not waiting on an approval in "${step}" (it is at "${current}")`)
  }
  const parsed = parseApproval(decision)
  if (!parsed.success) throw new DecisionError("invalid-decision", `approval decision for "${step}" is invalid`, parsed.issues)
  return parsed.data
}
