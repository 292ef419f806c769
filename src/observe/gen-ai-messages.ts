import type { Message, ToolCall } from "../contract/model.ts"

// The message shapes of the OpenTelemetry GenAI semantic conventions (gen_ai.input.messages,
// gen_ai.output.messages, gen_ai.system_instructions), serialised as JSON strings on span events.

type Part =
  | { readonly type: "text"; readonly content: string }
  | { readonly type: "tool_call"; readonly id: string; readonly name: string; readonly arguments: unknown }
  | { readonly type: "tool_call_response"; readonly id: string; readonly response: string }

const toolCallParts = (toolCalls: readonly ToolCall[] | undefined): Part[] =>
  (toolCalls ?? []).map((call) => ({ type: "tool_call", id: call.id, name: call.name, arguments: call.arguments }))

const textParts = (content: string): Part[] => (content === "" ? [] : [{ type: "text", content }])

/** System messages become instructions; the rest become input messages with typed parts. */
export const inputMessages = (messages: readonly Message[]): { readonly instructions: Part[]; readonly input: Array<{ role: string; parts: Part[] }> } => {
  const instructions: Part[] = []
  const input: Array<{ role: string; parts: Part[] }> = []
  for (const message of messages) {
    if (message.role === "system") instructions.push(...textParts(message.content))
    else if (message.role === "tool") input.push({ role: "tool", parts: [{ type: "tool_call_response", id: message.toolCallId, response: message.content }] })
    else if (message.role === "assistant") input.push({ role: "assistant", parts: [...textParts(message.content), ...toolCallParts(message.toolCalls)] })
    else input.push({ role: message.role, parts: textParts(message.content) })
  }
  return { instructions, input }
}

/** The model's answer as one output message. */
export const outputMessages = (response: { readonly text: string; readonly toolCalls?: readonly ToolCall[]; readonly finishReason?: string }) => [
  {
    role: "assistant",
    parts: [...textParts(response.text), ...toolCallParts(response.toolCalls)],
    ...(response.finishReason === undefined ? {} : { finish_reason: response.finishReason }),
  },
]
