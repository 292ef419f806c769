// From the Messages API answer (whole or assembled from a stream) to switchboard's ModelResponse.
import type { ModelResponse, ToolCall, Usage } from "../../contract/model.ts"
import { modelError } from "../shared.ts"
import type { ErrorSubject } from "./errors.ts"
import type { OutputTool } from "./request.ts"

/**
 * One content block of an answer, reduced to what switchboard reads (thinking is dropped earlier).
 *
 * @example
 * const block: AnswerBlock = { type: "tool_use", id: "toolu_1", name: "lookupOrder", input: { orderId: "A-1" } }
 */
export type AnswerBlock =
  | { readonly type: "text"; readonly text: string }
  /** `json` is the input as streamed text; `input` the parsed (or whole-message) value. */
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly input: unknown; readonly json?: string }

/**
 * Token counts as the API reports them (message body, `message_start` and `message_delta`).
 *
 * @example
 * const usage: WireUsage = { input_tokens: 12, cache_read_input_tokens: 0, output_tokens: 30 }
 */
export interface WireUsage {
  readonly input_tokens?: number | null
  readonly output_tokens?: number | null
  readonly cache_read_input_tokens?: number | null
  readonly cache_creation_input_tokens?: number | null
}

/**
 * What both the whole-message and the streaming path hand over.
 *
 * @example
 * const answer: Answer = { blocks: [{ type: "text", text: "Hi" }], stopReason: "end_turn", usage: { input_tokens: 3, output_tokens: 1 } }
 */
export interface Answer {
  readonly blocks: readonly AnswerBlock[]
  readonly stopReason: string | null | undefined
  readonly usage: WireUsage | undefined
}

const finishReasons: Readonly<Record<string, string>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool-calls",
  refusal: "content-filter",
}

/**
 * Normalises Anthropic's `stop_reason`: `end_turn`/`stop_sequence` → `stop`, `max_tokens` →
 * `length`, `tool_use` → `tool-calls`, `refusal` → `content-filter`, anything else as sent.
 *
 * @example
 * finishReasonOf("max_tokens") // "length"
 */
export const finishReasonOf = (stopReason: string): string => finishReasons[stopReason] ?? stopReason

/**
 * Anthropic counts cache reads and cache writes apart from `input_tokens`; switchboard's
 * `inputTokens` is every input token, with the cache reads also reported as `cachedInputTokens`.
 *
 * @example
 * usageOf({ input_tokens: 10, cache_read_input_tokens: 90, output_tokens: 5 }) // { inputTokens: 100, outputTokens: 5, cachedInputTokens: 90 }
 */
export const usageOf = (usage: WireUsage): Usage => {
  const cached = usage.cache_read_input_tokens ?? 0
  return {
    inputTokens: (usage.input_tokens ?? 0) + cached + (usage.cache_creation_input_tokens ?? 0),
    outputTokens: usage.output_tokens ?? 0,
    ...(cached > 0 ? { cachedInputTokens: cached } : {}),
  }
}

/**
 * Builds the response. With a structured-output tool, its input becomes `text` (as JSON) and the
 * finish reason `stop`; other tool calls stay tool calls. A refusal rejects with `content-filter`;
 * an answer with neither text nor tool calls rejects with `invalid-output` (retryable), since the
 * step asked for an answer and got none.
 *
 * @example
 * toModelResponse({ blocks: [{ type: "text", text: "Hi" }], stopReason: "end_turn", usage: undefined }, undefined, { provider: "anthropic", model: "claude-sonnet-5" })
 * // { text: "Hi", finishReason: "stop" }
 */
export const toModelResponse = (answer: Answer, outputTool: OutputTool | undefined, subject: ErrorSubject): ModelResponse => {
  let text = ""
  let structured: string | undefined
  const toolCalls: ToolCall[] = []
  for (const block of answer.blocks) {
    if (block.type === "text") text += block.text
    else if (outputTool !== undefined && block.name === outputTool.name && structured === undefined) structured = structuredText(block, outputTool)
    else toolCalls.push({ id: block.id, name: block.name, arguments: block.input })
  }
  if (answer.stopReason === "refusal") {
    throw modelError(
      subject.provider,
      subject.model,
      "content-filter",
      `Anthropic refused to answer (stop_reason "refusal")${text === "" ? "" : `: ${text.slice(0, 200)}`}`,
    )
  }
  if (structured === undefined && text === "" && toolCalls.length === 0) {
    throw modelError(
      subject.provider,
      subject.model,
      "invalid-output",
      `Anthropic returned no content (stop_reason ${JSON.stringify(answer.stopReason ?? null)})`,
    )
  }
  const stopReason = answer.stopReason ?? undefined
  const finishReason = structured !== undefined && toolCalls.length === 0 && stopReason === "tool_use" ? "stop" : stopReason && finishReasonOf(stopReason)
  return {
    text: structured ?? text,
    ...(toolCalls.length === 0 ? {} : { toolCalls }),
    ...(answer.usage === undefined ? {} : { usage: usageOf(answer.usage) }),
    ...(finishReason === undefined || finishReason === "" ? {} : { finishReason }),
  }
}

// The streamed text is kept byte for byte when it is whole JSON, so the deltas add up to `text`;
// a cut stream (max_tokens) keeps its partial text for the runtime's repair loop to report.
const structuredText = (block: Extract<AnswerBlock, { type: "tool_use" }>, outputTool: OutputTool): string => {
  if (!outputTool.wrapped && block.json !== undefined && block.json !== "") return block.json
  const input = block.input
  if (!outputTool.wrapped) return typeof input === "string" ? input : JSON.stringify(input)
  return typeof input === "object" && input !== null && "value" in input ? JSON.stringify((input as { value: unknown }).value) : JSON.stringify(input)
}

/**
 * The blocks of a whole (non-streamed) message: text and tool use; thinking and server-side blocks are skipped.
 *
 * @example
 * blocksOfMessage([{ type: "thinking", thinking: "..." }, { type: "text", text: "refund" }]) // [{ type: "text", text: "refund" }]
 */
export const blocksOfMessage = (content: unknown): AnswerBlock[] => {
  if (!Array.isArray(content)) return []
  const blocks: AnswerBlock[] = []
  for (const block of content as Array<{ type?: unknown; text?: unknown; id?: unknown; name?: unknown; input?: unknown }>) {
    if (block.type === "text" && typeof block.text === "string") blocks.push({ type: "text", text: block.text })
    if (block.type === "tool_use") blocks.push({ type: "tool_use", id: String(block.id), name: String(block.name), input: block.input ?? {} })
  }
  return blocks
}
