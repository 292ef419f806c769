import type { ModelResponse } from "../../contract/model.ts"
import { bodyError, type ErrorContext, failure } from "./errors.ts"
import { finishToolCalls, type PartialToolCall, readUsage, response, responsesUsageNames } from "./wire.ts"

// The fields we read, all optional.
interface WireItem {
  readonly type?: string
  readonly id?: string
  readonly call_id?: string
  readonly name?: string
  readonly arguments?: string
  /** Models that narrate their work mark those messages `commentary`; the answer is `final_answer`. */
  readonly phase?: string
  readonly content?: ReadonlyArray<{ readonly type?: string; readonly text?: string; readonly refusal?: string }>
}
interface WireResponse {
  readonly status?: string
  readonly output?: readonly WireItem[]
  readonly usage?: unknown
  readonly error?: { readonly code?: unknown; readonly message?: unknown } | null
  readonly incomplete_details?: { readonly reason?: string } | null
}
interface WireEvent {
  readonly type?: string
  readonly delta?: string
  readonly output_index?: number
  readonly item?: WireItem
  readonly arguments?: string
  readonly response?: WireResponse
  readonly code?: unknown
  readonly message?: unknown
  readonly error?: { readonly code?: unknown; readonly message?: unknown }
}

/** Reads a whole (non-streamed) response. */
export const readResponse = (body: unknown, context: ErrorContext): ModelResponse => {
  if (typeof body !== "object" || body === null) throw failure(context, "server", `the response is not a Responses API object: ${String(body).slice(0, 200)}`)
  const wire = body as WireResponse
  if (!Array.isArray(wire.output)) throw failure(context, "invalid-output", "the response has no output")
  const calls: PartialToolCall[] = []
  for (const [index, item] of wire.output.entries()) {
    if (item.type === "function_call") calls.push({ id: item.call_id ?? item.id ?? `call_${index}`, name: item.name ?? "", arguments: item.arguments ?? "" })
  }
  return settle(context, wire, { ...answerOf(wire.output), calls })
}

const isAnswer = (item: WireItem): boolean => item.type === "message" && item.phase !== "commentary"

// Like the SDK's `output_text`, every text part of every message in order, except commentary: a
// model's running narration ("Let me look that up") is not the answer and would break its JSON.
const answerOf = (output: readonly WireItem[]): { text: string; refusal: string; messages: number } => {
  let text = ""
  let refusal = ""
  const answers = output.filter(isAnswer)
  for (const item of answers) {
    for (const part of item.content ?? []) {
      if (part.type === "output_text") text += part.text ?? ""
      if (part.type === "refusal") refusal += part.refusal ?? ""
    }
  }
  return { text, refusal, messages: answers.length }
}

/** Reads a streamed response, reporting text deltas as they arrive and assembling streamed tool-call arguments. */
export const readResponseStream = async (events: AsyncIterable<unknown>, context: ErrorContext, onDelta: (text: string) => void): Promise<ModelResponse> => {
  let text = ""
  let refusal = ""
  let final: WireResponse | undefined
  let messages = 0
  // Output indexes of commentary messages: their deltas are not the answer.
  const commentary = new Set<number>()
  const calls = new Map<number, PartialToolCall>()
  for await (const raw of events) {
    const event = raw as WireEvent
    const index = event.output_index ?? 0
    switch (event.type) {
      case "response.output_text.delta":
        if (typeof event.delta === "string" && event.delta !== "" && !commentary.has(index)) {
          text += event.delta
          onDelta(event.delta)
        }
        break
      case "response.refusal.delta":
        if (!commentary.has(index)) refusal += event.delta ?? ""
        break
      case "response.output_item.added":
      case "response.output_item.done":
        if (event.item?.type === "message" && event.item.phase === "commentary") commentary.add(index)
        else if (event.type === "response.output_item.added" && event.item?.type === "message") messages += 1
        if (event.item?.type === "function_call") {
          const call = calls.get(index) ?? { id: "", name: "", arguments: "" }
          call.id = event.item.call_id ?? event.item.id ?? call.id
          call.name = event.item.name ?? call.name
          // `added` carries empty arguments; `done` carries them whole.
          if (event.type === "response.output_item.done" && typeof event.item.arguments === "string") call.arguments = event.item.arguments
          calls.set(index, call)
        }
        break
      case "response.function_call_arguments.delta": {
        const call = calls.get(index) ?? { id: `call_${index}`, name: "", arguments: "" }
        call.arguments += event.delta ?? ""
        calls.set(index, call)
        break
      }
      case "response.function_call_arguments.done": {
        const call = calls.get(index)
        if (call !== undefined && typeof event.arguments === "string") call.arguments = event.arguments
        break
      }
      case "response.completed":
      case "response.incomplete":
      case "response.failed":
        final = event.response ?? {}
        break
      case "error":
        // The SDK throws on these itself; kept for servers whose events it passes through.
        throw bodyError(context, event.error ?? event)
    }
  }
  if (final === undefined) throw failure(context, "network", "the stream ended before the response completed")
  const ordered = [...calls.entries()].sort(([left], [right]) => left - right).map(([, call]) => call)
  // The completed response holds the whole output: its text outranks the deltas (a server may
  // send fewer deltas than text, or none).
  const whole = Array.isArray(final.output) && final.output.length > 0 ? answerOf(final.output) : { text, refusal, messages }
  return settle(context, final, { ...whole, calls: ordered })
}

const settle = (
  context: ErrorContext,
  wire: WireResponse,
  { text, refusal, calls, messages }: { text: string; refusal: string; calls: PartialToolCall[]; messages: number },
): ModelResponse => {
  if (wire.status === "failed") throw bodyError(context, wire.error)
  if (refusal !== "") throw failure(context, "content-filter", `the model refused: ${refusal}`)
  const incomplete = wire.status === "incomplete" ? wire.incomplete_details?.reason : undefined
  if (incomplete === "content_filter") throw failure(context, "content-filter", "the answer was stopped by the content filter")
  // Completed with neither a message nor a tool call (e.g. only reasoning): nothing to use, but a retry may answer.
  if (wire.status !== "incomplete" && messages === 0 && calls.length === 0)
    throw failure(context, "invalid-output", "the response has no message and no tool call")
  const finishReason = incomplete === "max_output_tokens" ? "length" : incomplete !== undefined ? incomplete : calls.length > 0 ? "tool-calls" : "stop"
  return response(text, finishToolCalls(calls), readUsage(wire.usage, responsesUsageNames), finishReason)
}
