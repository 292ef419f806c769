import type { AgentConversation, PendingCall } from "../compile/agent-conversation.ts"
import type { RunContext } from "../compile/compile-machine.ts"
import { parseApproval } from "../definition/steps/approval.ts"
import { DecisionError } from "./result.ts"
import { visitKey } from "./replay.ts"

/** The top-level state of a snapshot value: the step (an agent's sub-state is inside it). */
export const stepOfValue = (value: unknown): string =>
  typeof value === "string" ? value : typeof value === "object" && value !== null ? (Object.keys(value)[0] ?? "") : String(value)

/** `refund.awaitingApproval` for an agent's sub-state, the step name otherwise. */
export const stateNameOf = (value: unknown): string => {
  if (typeof value !== "object" || value === null) return String(value)
  const [step, inner] = Object.entries(value)[0] ?? ["", ""]
  return `${step}.${stateNameOf(inner)}`
}

/**
 * The tool call an agent waits on a person for, when the run is in `<step>.awaitingApproval`;
 * `key` numbers the pause within the visit (`step#visit#n`) so a resume replays each decision once.
 */
export const pendingApproval = (value: unknown, context: RunContext): { readonly step: string; readonly key: string; readonly call: PendingCall } | undefined => {
  const name = stateNameOf(value)
  if (!name.endsWith(".awaitingApproval")) return undefined
  const step = stepOfValue(value)
  const conversation = context.agents?.[step] as AgentConversation | undefined
  const call = conversation?.pending.find((pending) => pending.approval === "needed")
  if (conversation === undefined || call === undefined) return undefined
  return { step, key: `${visitKey(step, conversation.visit)}#${conversation.approvals}`, call }
}

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
