import { type DurationInput, toMillis } from "../../contract/duration.ts"

/**
 * A person's answer to a tool call an agent wants to make: run it, refuse it (the reason goes back
 * to the model as the tool's result), or run it with corrected arguments (checked against the
 * tool's schema again; arguments that fail go back to the model as an error, never to the tool).
 *
 * @example
 * handle.send("refund", { action: "edit", arguments: { orderId: "A-1", amount: 20 } })
 */
export type ApprovalDecision =
  | { readonly action: "approve" }
  | { readonly action: "reject"; readonly reason: string }
  | { readonly action: "edit"; readonly arguments: unknown }

/** Checks the shape of an approval decision; the issues name each wrong field. */
export const parseApproval = (
  value: unknown,
):
  | { readonly success: true; readonly data: ApprovalDecision }
  | { readonly success: false; readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }> } => {
  if (typeof value !== "object" || value === null)
    return { success: false, issues: [{ path: "(root)", message: 'expected an object { action: "approve" | "reject" | "edit" }' }] }
  const decision = value as { action?: unknown; reason?: unknown; arguments?: unknown }
  switch (decision.action) {
    case "approve":
      return { success: true, data: { action: "approve" } }
    case "reject":
      return typeof decision.reason === "string" && decision.reason.trim() !== ""
        ? { success: true, data: { action: "reject", reason: decision.reason } }
        : { success: false, issues: [{ path: "reason", message: "a rejection needs a non-empty reason (it is sent to the model)" }] }
    case "edit":
      return "arguments" in decision
        ? { success: true, data: { action: "edit", arguments: decision.arguments } }
        : { success: false, issues: [{ path: "arguments", message: "an edit needs the corrected arguments" }] }
    default:
      return { success: false, issues: [{ path: "action", message: `expected "approve", "reject" or "edit", got ${JSON.stringify(decision.action)}` }] }
  }
}

/**
 * The long form of a tool's `approval`: which calls ask a person (`when`, default every call) and
 * how long the run waits for one (`timeout`). When the deadline passes the call is refused as if
 * rejected: the tool never runs, and the model gets "no decision within …" as the call's error
 * result, so the agent goes on without it (and can say so in its answer).
 *
 * @example
 * const approval: ApprovalOptions<{ amount: number }> = { when: ({ amount }) => amount > 100, timeout: "4h" }
 */
export interface ApprovalOptions<TArgs> {
  /** The calls that need a person (default: every call). */
  readonly when?: (args: TArgs) => boolean
  /** How long a call waits for a decision before it is refused. */
  readonly timeout?: DurationInput
}

/**
 * How a tool asks for approval: never (`false`, or absent), for every call (`true`), for the calls a
 * predicate picks, or with options ({@link ApprovalOptions}: a predicate and a deadline).
 *
 * @example
 * const approval: ToolApproval<{ amount: number }> = { when: ({ amount }) => amount > 100, timeout: "4h" }
 */
export type ToolApproval<TArgs> = boolean | ((args: TArgs) => boolean) | ApprovalOptions<TArgs>

/** Whether a tool's `approval` makes some of its calls ask a person. */
export const asksApproval = (approval: ToolApproval<never> | undefined): boolean => approval !== undefined && approval !== false

/** Whether a call with these (valid) arguments asks a person; a predicate that throws asks (the safe side). */
export const callNeedsApproval = <TArgs>(approval: ToolApproval<TArgs> | undefined, args: TArgs): boolean => {
  if (approval === undefined || approval === false) return false
  if (approval === true) return true
  const when = typeof approval === "function" ? approval : approval.when
  if (when === undefined) return true
  try {
    return when(args)
  } catch {
    return true
  }
}

/**
 * The deadline of an approval in milliseconds: the tool's own `approval.timeout`, else the agent's
 * `approval.timeout` default; `undefined` when the call can wait forever.
 */
export const approvalTimeoutMs = (approval: ToolApproval<never> | undefined, agentDefault: DurationInput | undefined): number | undefined => {
  if (!asksApproval(approval)) return undefined
  const own = typeof approval === "object" ? approval.timeout : undefined
  const timeout = own ?? agentDefault
  return timeout === undefined ? undefined : toMillis(timeout, "approval timeout")
}
