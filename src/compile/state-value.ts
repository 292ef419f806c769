// Reading a machine's state value: which step a run is in, and what an agent waits on.
import { visitKey } from "../contract/keys.ts"
import type { AgentConversation, PendingCall } from "./agent-conversation.ts"
import type { RunContext } from "./run-context.ts"

/** The pipeline step a machine state value is in: a parallel step's value is an object under its name. */
export const topState = (value: unknown): string => (typeof value === "string" ? value : (Object.keys((value ?? {}) as object)[0] ?? ""))

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
export const pendingApproval = (
  value: unknown,
  context: RunContext,
): { readonly step: string; readonly key: string; readonly call: PendingCall } | undefined => {
  const name = stateNameOf(value)
  if (!name.endsWith(".awaitingApproval")) return undefined
  const step = stepOfValue(value)
  const conversation = context.agents?.[step] as AgentConversation | undefined
  const call = conversation?.pending.find((pending) => pending.approval === "needed")
  if (conversation === undefined || call === undefined) return undefined
  return { step, key: `${visitKey(step, conversation.visit)}#${conversation.approvals}`, call }
}
