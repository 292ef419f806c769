import type { Message } from "../../contract/model.ts"

/**
 * A rough token count of one message: a quarter of its characters (text, tool arguments, the
 * tool name; as `estimateTokens` counts text) plus 4 for the message's framing. Providers tokenize differently; this errs on the
 * side of counting more for English text, which is what a budget wants.
 *
 * @example
 * estimateMessageTokens({ role: "user", content: "Where is order A-1?" }) // 9
 */
export const estimateMessageTokens = (message: Message): number => {
  let characters = message.content.length
  if (message.role === "assistant" && message.toolCalls !== undefined) {
    for (const call of message.toolCalls) characters += call.name.length + (JSON.stringify(call.arguments) ?? "").length
  }
  if (message.role === "tool") characters += message.name.length
  return Math.ceil(characters / 4) + 4
}

/**
 * Trims a conversation to about `maxTokens` (see {@link estimateMessageTokens}): system messages and the
 * opening user messages (the task) are always kept, then the latest turns that fit, newest first.
 * An assistant message that asked for tools is kept or dropped together with its tool results,
 * and the latest turn is always kept even when it alone is over the budget: a model must never
 * see a tool result without the call it answers, nor lose the step it is on.
 *
 * @example
 * const sent = trimHistory(conversation, 8_000)
 */
export const trimHistory = (messages: readonly Message[], maxTokens: number, estimate: (message: Message) => number = estimateMessageTokens): Message[] => {
  const pinned: number[] = []
  let start = 0
  for (; start < messages.length; start++) {
    const role = messages[start]?.role
    if (role !== "system" && role !== "user") break
    pinned.push(start)
  }
  for (let index = start; index < messages.length; index++) if (messages[index]?.role === "system") pinned.push(index)
  // Units that stand or fall together: an assistant message with the tool results after it.
  const units: number[][] = []
  for (let index = start; index < messages.length; index++) {
    const message = messages[index] as Message
    if (message.role === "system") continue
    const last = units.at(-1)
    if (message.role === "tool" && last !== undefined) last.push(index)
    else units.push([index])
  }
  let used = pinned.reduce((total, index) => total + estimate(messages[index] as Message), 0)
  const kept = new Set(pinned)
  for (let unit = units.length - 1; unit >= 0; unit--) {
    const members = units[unit] as number[]
    const cost = members.reduce((total, index) => total + estimate(messages[index] as Message), 0)
    if (unit < units.length - 1 && used + cost > maxTokens) break
    used += cost
    for (const index of members) kept.add(index)
  }
  return messages.filter((_, index) => kept.has(index))
}
