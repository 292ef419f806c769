import type { ModelResponse } from "../../contract/model.ts"
import { type ErrorContext, failure } from "./errors.ts"
import { chatUsageNames, finishToolCalls, type PartialToolCall, readUsage, response } from "./wire.ts"

// The fields we read, all optional: compatible servers leave some out.
interface WireToolCall {
  readonly index?: number
  readonly id?: string
  readonly type?: string
  readonly function?: { readonly name?: string; readonly arguments?: string }
}
interface WireChoice {
  readonly index?: number
  readonly message?: { readonly content?: string | null; readonly refusal?: string | null; readonly tool_calls?: readonly WireToolCall[] | null }
  readonly delta?: { readonly content?: string | null; readonly refusal?: string | null; readonly tool_calls?: readonly WireToolCall[] | null }
  readonly finish_reason?: string | null
}
interface WireCompletion {
  readonly choices?: readonly WireChoice[]
  readonly usage?: unknown
}

const finishReasons: Readonly<Record<string, string>> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter",
}

const normalise = (reason: string | null | undefined): string | undefined => (reason == null ? undefined : (finishReasons[reason] ?? reason))

/** Reads a whole (non-streamed) chat completion. */
export const readChatCompletion = (body: unknown, context: ErrorContext): ModelResponse => {
  const choices = asCompletion(body, context).choices
  // No choices is a well-formed answer without content: retrying may produce one.
  if (!Array.isArray(choices) || choices.length === 0) throw failure(context, "invalid-output", "the response has no choices")
  const choice = choices.find((candidate) => (candidate.index ?? 0) === 0) ?? (choices[0] as WireChoice)
  const message: NonNullable<WireChoice["message"]> = choice.message ?? {}
  const calls = (message.tool_calls ?? []).filter((call: WireToolCall) => call.type === undefined || call.type === "function")
  return settle(context, {
    text: message.content ?? "",
    refusal: message.refusal ?? "",
    toolCalls: calls.map((call, index) => ({ id: call.id ?? `call_${index}`, name: call.function?.name ?? "", arguments: call.function?.arguments ?? "" })),
    usage: (body as WireCompletion).usage,
    finishReason: choice.finish_reason,
  })
}

/** Reads a streamed chat completion, reporting text deltas as they arrive. */
export const readChatStream = async (chunks: AsyncIterable<unknown>, context: ErrorContext, onDelta: (text: string) => void): Promise<ModelResponse> => {
  let text = ""
  let refusal = ""
  let usage: unknown
  let finishReason: string | null | undefined
  let sawChoice = false
  const calls = new Map<number, PartialToolCall>()
  for await (const chunk of chunks) {
    const completion = asCompletion(chunk, context)
    if (completion.usage != null) usage = completion.usage
    // With `n > 1` only the first choice is the answer.
    const choice = completion.choices?.find((candidate) => (candidate.index ?? 0) === 0)
    if (choice === undefined) continue
    sawChoice = true
    const delta = choice.delta ?? {}
    if (typeof delta.content === "string" && delta.content !== "") {
      text += delta.content
      onDelta(delta.content)
    }
    if (typeof delta.refusal === "string") refusal += delta.refusal
    for (const piece of delta.tool_calls ?? []) {
      const index = piece.index ?? calls.size
      const call = calls.get(index) ?? { id: "", name: "", arguments: "" }
      if (piece.id !== undefined) call.id = piece.id
      // The name comes whole in the call's first piece; some servers repeat it later.
      if (call.name === "" && piece.function?.name !== undefined) call.name = piece.function.name
      if (piece.function?.arguments !== undefined) call.arguments += piece.function.arguments
      calls.set(index, call)
    }
    if (choice.finish_reason != null) finishReason = choice.finish_reason
  }
  if (!sawChoice) throw failure(context, "invalid-output", "the stream carried no choices")
  if (finishReason == null) throw failure(context, "network", "the stream ended before the answer finished")
  const toolCalls = [...calls.entries()].sort(([left], [right]) => left - right).map(([index, call]) => ({ ...call, id: call.id || `call_${index}` }))
  return settle(context, { text, refusal, toolCalls, usage, finishReason })
}

const settle = (
  context: ErrorContext,
  parts: { text: string; refusal: string; toolCalls: PartialToolCall[]; usage: unknown; finishReason: string | null | undefined },
): ModelResponse => {
  if (parts.refusal !== "") throw failure(context, "content-filter", `the model refused: ${parts.refusal}`)
  const finishReason = normalise(parts.finishReason)
  if (finishReason === "content-filter") throw failure(context, "content-filter", "the answer was stopped by the content filter")
  return response(parts.text, finishToolCalls(parts.toolCalls), readUsage(parts.usage, chatUsageNames), finishReason)
}

const asCompletion = (body: unknown, context: ErrorContext): WireCompletion => {
  // The SDK hands back text when the server sent something other than JSON.
  if (typeof body !== "object" || body === null) throw failure(context, "server", `the response is not a chat completion: ${String(body).slice(0, 200)}`)
  return body as WireCompletion
}
