// The agent's conversation as machine context (JSON only, so a snapshot persists it) and the pure
// functions that move it along: the sub-chart's guards and actions share them, so what a guard
// tests is exactly what the action then stores.
import type { RunError } from "../contract/errors.ts"
import type { UsageTotals } from "../contract/events.ts"
import type { Message } from "../contract/model.ts"
import { addUsage, emptyUsage } from "../contract/usage.ts"
import type { AgentStopContext, Budget } from "../definition/agent-stop-rules.ts"
import type { ApprovalDecision } from "../definition/steps/approval.ts"

/**
 * A tool call the model asked for, with where its approval stands.
 *
 * @example
 * const call: PendingCall = { id: "call_1", name: "issueRefund", arguments: { orderId: "A-1", amount: 80 }, approval: "needed" }
 */
export interface PendingCall {
  readonly id: string
  readonly name: string
  readonly arguments: unknown
  /** `expired`: nobody decided before the approval's deadline; `rejected` is then what the model is told. */
  readonly approval: "none" | "needed" | "approved" | { readonly rejected: string; readonly expired?: true }
}

/** How an agent step ended: an answer (and the route it chose), a stop rule, or a failure. */
export type AgentOutcome =
  | { readonly kind: "answer"; readonly output: unknown; readonly next: string }
  | { readonly kind: "stopped"; readonly rule: string }
  | { readonly kind: "failed"; readonly error: RunError }

/**
 * One visit of an agent step as the machine's context holds it.
 *
 * @example
 * const turns = (context: RunContext) => context.agents?.["refund"]?.turns ?? 0
 */
export interface AgentConversation {
  readonly visit: number
  readonly startedAt: number
  /** Everything said so far, untrimmed (trimming applies to what is sent). */
  readonly messages: readonly Message[]
  /**
   * How many of `messages` there were when the latest turn asked the model: that turn's journaled
   * call holds them, so the next call journals only the rest (absent in contexts saved before).
   */
  readonly askedWith?: number
  readonly turns: number
  readonly toolCalls: number
  /** Tool calls in a row that returned an error. */
  readonly toolErrors: number
  readonly pending: readonly PendingCall[]
  readonly lastToolCalls: readonly string[]
  readonly usage: UsageTotals
  readonly elapsedMs: number
  /** The run's usage and time before this agent's own calls, for the run-level budget. */
  readonly runUsage: UsageTotals
  readonly runElapsedMs: number
  readonly runBudget: Budget | null
  /** Approval decisions applied in this visit: numbers each pause so a resume replays them in order. */
  readonly approvals: number
  /** How many of those pauses ended at their deadline instead (absent until one does). */
  readonly expired?: number
  readonly outcome: AgentOutcome | null
}

/** What the model-turn actor resolves with. */
export interface TurnOutput {
  readonly turn: number
  /** The task messages, on the first turn only. */
  readonly opening?: readonly Message[]
  readonly text: string
  readonly calls: readonly PendingCall[]
  readonly usage: UsageTotals
  readonly elapsedMs: number
  readonly runUsage: UsageTotals
  readonly runElapsedMs: number
  readonly answer?: { readonly output: unknown; readonly next: string }
  /** The final answer failed the output schema: this goes back to the model. */
  readonly invalid?: string
}

/** What the tool-batch actor resolves with: one result per pending call, in order. */
export interface ToolsOutput {
  readonly results: ReadonlyArray<{
    readonly callId: string
    readonly name: string
    readonly content: string
    readonly isError: boolean
    readonly ran: boolean
  }>
  readonly elapsedMs: number
}

/** A fresh conversation for a new visit. */
export const beginConversation = (visit: number, runBudget: Budget | null): AgentConversation => ({
  visit,
  startedAt: Date.now(),
  messages: [],
  askedWith: 0,
  turns: 0,
  toolCalls: 0,
  toolErrors: 0,
  pending: [],
  lastToolCalls: [],
  usage: emptyUsage,
  elapsedMs: 0,
  runUsage: emptyUsage,
  runElapsedMs: 0,
  runBudget,
  approvals: 0,
  outcome: null,
})

/** The conversation after a model turn. */
export const afterTurn = (conversation: AgentConversation, output: TurnOutput): AgentConversation => {
  const assistant: Message =
    output.calls.length === 0
      ? { role: "assistant", content: output.text }
      : { role: "assistant", content: output.text, toolCalls: output.calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })) }
  const feedback: Message[] = output.invalid === undefined ? [] : [{ role: "user", content: output.invalid }]
  const asked = output.opening ?? conversation.messages
  return {
    ...conversation,
    messages: [...asked, assistant, ...feedback],
    askedWith: asked.length,
    turns: output.turn,
    pending: output.calls,
    usage: addUsage(conversation.usage, output.usage),
    elapsedMs: output.elapsedMs,
    runUsage: output.runUsage,
    runElapsedMs: output.runElapsedMs,
  }
}

/** The conversation after a batch of tool calls: their results, the tally, the error streak. */
export const afterTools = (conversation: AgentConversation, output: ToolsOutput): AgentConversation => {
  let toolErrors = conversation.toolErrors
  for (const result of output.results) if (result.ran) toolErrors = result.isError ? toolErrors + 1 : 0
  const ran = output.results.filter((result) => result.ran)
  return {
    ...conversation,
    messages: [
      ...conversation.messages,
      ...output.results.map(
        (result): Message => ({
          role: "tool",
          toolCallId: result.callId,
          name: result.name,
          content: result.content,
          ...(result.isError ? { isError: true } : {}),
        }),
      ),
    ],
    toolCalls: conversation.toolCalls + ran.length,
    toolErrors,
    pending: [],
    lastToolCalls: ran.map((result) => result.name),
    runElapsedMs: conversation.runElapsedMs + (output.elapsedMs - conversation.elapsedMs),
    elapsedMs: output.elapsedMs,
  }
}

/** The conversation after a person decided on the first call waiting for approval. */
export const afterDecision = (conversation: AgentConversation, decision: ApprovalDecision): AgentConversation => {
  const index = conversation.pending.findIndex((call) => call.approval === "needed")
  if (index === -1) return conversation
  const call = conversation.pending[index] as PendingCall
  const decided: PendingCall =
    decision.action === "approve"
      ? { ...call, approval: "approved" }
      : decision.action === "reject"
        ? { ...call, approval: { rejected: decision.reason } }
        : { ...call, arguments: decision.arguments, approval: "approved" }
  return { ...conversation, pending: conversation.pending.map((pending, at) => (at === index ? decided : pending)), approvals: conversation.approvals + 1 }
}

/** The conversation after the deadline of the first call waiting for a person passed: it is refused, with `reason` for the model. */
export const afterExpiry = (conversation: AgentConversation, reason: string): AgentConversation => {
  const index = conversation.pending.findIndex((call) => call.approval === "needed")
  if (index === -1) return conversation
  const expired: PendingCall = { ...(conversation.pending[index] as PendingCall), approval: { rejected: reason, expired: true } }
  return {
    ...conversation,
    pending: conversation.pending.map((pending, at) => (at === index ? expired : pending)),
    approvals: conversation.approvals + 1,
    expired: (conversation.expired ?? 0) + 1,
  }
}

/** The first call waiting for a person, if any. */
export const awaitingApproval = (conversation: AgentConversation | undefined): PendingCall | undefined =>
  conversation?.pending.find((call) => call.approval === "needed")

/** What the agent's stop rules read. */
export const stopContextOf = (conversation: AgentConversation, input: unknown, steps: Readonly<Record<string, unknown>>): AgentStopContext => ({
  input,
  steps,
  turns: conversation.turns,
  toolCalls: conversation.toolCalls,
  pendingToolCalls: conversation.pending.map((call) => call.name),
  lastToolCalls: conversation.lastToolCalls,
  usage: conversation.usage,
  elapsedMs: conversation.elapsedMs,
  messages: conversation.messages,
})
