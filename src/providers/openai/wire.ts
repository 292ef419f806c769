// Small readers shared by both APIs. Bodies are read defensively: compatible servers leave fields out.
import type { ToolCall, Usage } from "../../contract/model.ts"

/** Tool-call arguments as JSON, or the raw text when they do not parse (the tool's schema check reports it). */
export const parseArguments = (text: string): unknown => {
  if (text.trim() === "") return {}
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A tool call being assembled from streamed pieces. */
export interface PartialToolCall {
  id: string
  name: string
  arguments: string
}

export const finishToolCalls = (calls: Iterable<PartialToolCall>): ToolCall[] =>
  [...calls].map((call) => ({ id: call.id, name: call.name, arguments: parseArguments(call.arguments) }))

const count = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined)

/** Usage from either API's field names; undefined when the server sent none. */
export const readUsage = (usage: unknown, names: { readonly input: string; readonly output: string; readonly details: string }): Usage | undefined => {
  if (typeof usage !== "object" || usage === null) return undefined
  const fields = usage as Record<string, unknown>
  const inputTokens = count(fields[names.input])
  const outputTokens = count(fields[names.output])
  if (inputTokens === undefined && outputTokens === undefined) return undefined
  const cached = count((fields[names.details] as Record<string, unknown> | null | undefined)?.["cached_tokens"])
  return { inputTokens: inputTokens ?? 0, outputTokens: outputTokens ?? 0, ...(cached === undefined ? {} : { cachedInputTokens: cached }) }
}

export const chatUsageNames = { input: "prompt_tokens", output: "completion_tokens", details: "prompt_tokens_details" } as const
export const responsesUsageNames = { input: "input_tokens", output: "output_tokens", details: "input_tokens_details" } as const

/** Builds a response without `undefined` fields (exact optional property types). */
export const response = (text: string, toolCalls: readonly ToolCall[], usage: Usage | undefined, finishReason: string | undefined) => ({
  text,
  ...(toolCalls.length === 0 ? {} : { toolCalls }),
  ...(usage === undefined ? {} : { usage }),
  ...(finishReason === undefined ? {} : { finishReason }),
})
