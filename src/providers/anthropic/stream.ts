// Reads a Messages API event stream into one answer, reporting text as it arrives.
import type { Answer, AnswerBlock, WireUsage } from "./response.ts"

/**
 * The parts of a stream event this reader looks at; other events and fields pass by.
 *
 * @example
 * const event: StreamEvent = { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hel" } }
 */
export interface StreamEvent {
  readonly type: string
  readonly index?: number
  readonly message?: { readonly usage?: WireUsage }
  readonly content_block?: { readonly type: string; readonly id?: string; readonly name?: string; readonly input?: unknown }
  readonly delta?: { readonly type?: string; readonly text?: string; readonly partial_json?: string; readonly stop_reason?: string | null }
  readonly usage?: WireUsage
}

type OpenBlock =
  | { readonly type: "text"; text: string }
  | { readonly type: "tool_use"; readonly id: string; readonly name: string; readonly startInput: unknown; json: string }

/**
 * Assembles text blocks and tool calls (arguments from `input_json_delta` pieces), the stop reason
 * and the usage (`message_start` input counts, overridden by the cumulative `message_delta` ones).
 * Text deltas go to `onText`; deltas of the tool named `streamTool` too (the structured answer).
 * `thinking` blocks and `ping`s are skipped. A stream that ends without `message_stop` was cut:
 * `complete` is false.
 *
 * @example
 * const answer = await readStream(sdkStream, { onText: (text) => process.stdout.write(text) })
 * answer.blocks // [{ type: "text", text: "Hello" }]
 */
export const readStream = async (
  events: AsyncIterable<StreamEvent>,
  options: { readonly onText: (text: string) => void; readonly streamTool?: string | undefined },
): Promise<Answer & { readonly complete: boolean }> => {
  const blocks = new Map<number, OpenBlock>()
  let usage: WireUsage | undefined
  let stopReason: string | null | undefined
  let complete = false
  for await (const event of events) {
    switch (event.type) {
      case "message_start":
        usage = { ...event.message?.usage }
        break
      case "content_block_start": {
        const block = event.content_block
        if (block?.type === "text") blocks.set(event.index ?? blocks.size, { type: "text", text: "" })
        if (block?.type === "tool_use") {
          blocks.set(event.index ?? blocks.size, { type: "tool_use", id: block.id ?? "", name: block.name ?? "", startInput: block.input, json: "" })
        }
        break
      }
      case "content_block_delta": {
        const block = blocks.get(event.index ?? -1)
        const delta = event.delta
        if (block?.type === "text" && delta?.type === "text_delta" && typeof delta.text === "string" && delta.text !== "") {
          block.text += delta.text
          options.onText(delta.text)
        }
        if (block?.type === "tool_use" && delta?.type === "input_json_delta" && typeof delta.partial_json === "string" && delta.partial_json !== "") {
          block.json += delta.partial_json
          if (block.name === options.streamTool) options.onText(delta.partial_json)
        }
        break
      }
      case "message_delta":
        stopReason = event.delta?.stop_reason ?? stopReason
        usage = mergeUsage(usage, event.usage)
        break
      case "message_stop":
        complete = true
        break
    }
  }
  const answerBlocks = [...blocks.entries()].sort(([left], [right]) => left - right).map(([, block]) => closeBlock(block))
  return { blocks: answerBlocks, stopReason, usage, complete }
}

const mergeUsage = (usage: WireUsage | undefined, update: WireUsage | undefined): WireUsage | undefined => {
  if (update === undefined) return usage
  const defined = Object.fromEntries(Object.entries(update).filter(([, value]) => typeof value === "number"))
  return { ...usage, ...defined }
}

const closeBlock = (block: OpenBlock): AnswerBlock => {
  if (block.type === "text") return block
  const { id, name, json } = block
  if (json === "") return { type: "tool_use", id, name, input: block.startInput ?? {} }
  try {
    return { type: "tool_use", id, name, input: JSON.parse(json), json }
  } catch {
    // Unparseable arguments stay raw text: the tool's schema check reports them.
    return { type: "tool_use", id, name, input: json, json }
  }
}
