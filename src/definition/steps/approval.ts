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
