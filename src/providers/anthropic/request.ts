// From switchboard's provider-neutral request to the Messages API body (types only from the SDK).
import type Anthropic from "@anthropic-ai/sdk"
import type { Message, ModelRequest, PromptCacheHint, ToolCall } from "../../contract/model.ts"

/**
 * The request body this provider sends, minus `stream`.
 *
 * @example
 * const body: MessagesBody = { model: "claude-sonnet-5", max_tokens: 4096, messages: [{ role: "user", content: "Hi" }] }
 */
export type MessagesBody = Anthropic.MessageCreateParamsNonStreaming

/**
 * How the structured-output tool is named on the wire and whether its schema had to be wrapped in
 * an object (the tool's `input_schema` must be an object; an array or enum schema becomes `{ value }`).
 *
 * @example
 * const outputTool: OutputTool = { name: "classify", wrapped: false }
 */
export interface OutputTool {
  readonly name: string
  readonly wrapped: boolean
}

/**
 * Builds the Messages API body and notes the structured-output tool, if the request asked for one.
 *
 * @example
 * const { body } = toMessagesBody({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] }, { model: "claude-sonnet-5", maxOutputTokens: 4096 })
 * body.system // [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }]
 */
export const toMessagesBody = (
  request: ModelRequest,
  settings: { readonly model: string; readonly maxOutputTokens: number },
  promptCache?: PromptCacheHint | false,
): { readonly body: MessagesBody; readonly outputTool: OutputTool | undefined } => {
  const system = request.messages.filter((message) => message.role === "system").map((message) => message.content)
  const tools: Anthropic.Tool[] = (request.tools ?? []).map((tool) => ({
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    input_schema: objectSchema(tool.inputSchema),
  }))
  let toolChoice = toToolChoice(request.toolChoice)
  let outputTool: OutputTool | undefined
  if (request.output !== undefined) {
    const name = toolName(request.output.name, new Set(tools.map((tool) => tool.name)))
    const wrapped = request.output.jsonSchema["type"] !== "object"
    tools.push({
      name,
      description: `Answer by calling this tool with your final answer as its input. Its input schema is the required output format.`,
      input_schema: wrapped
        ? { type: "object", properties: { value: withoutDialect(request.output.jsonSchema) }, required: ["value"] }
        : objectSchema(request.output.jsonSchema),
    })
    outputTool = { name, wrapped }
    // With other tools on offer the model may still call them ("any"); alone, the answer tool is forced.
    const other = typeof request.toolChoice === "object" ? request.toolChoice : undefined
    toolChoice =
      other !== undefined ? { type: "tool", name: other.name } : tools.length > 1 && request.toolChoice !== "none" ? { type: "any" } : { type: "tool", name }
  }
  const marks = new Set(promptCache === false ? [] : (promptCache?.breakpoints ?? allBreakpoints))
  const messages = toWireMessages(request.messages)
  if (marks.has("conversation")) markConversation(messages)
  const lastTool = tools.at(-1)
  if (lastTool !== undefined && marks.has("tools")) tools[tools.length - 1] = { ...lastTool, cache_control: ephemeral }
  const systemText = system.join("\n\n")
  const body: MessagesBody = {
    model: settings.model,
    max_tokens: request.maxOutputTokens ?? settings.maxOutputTokens,
    messages,
    ...(system.length === 0 ? {} : { system: marks.has("system") ? [{ type: "text", text: systemText, cache_control: ephemeral }] : systemText }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(tools.length === 0 ? {} : { tools }),
    ...(tools.length === 0 || toolChoice === undefined ? {} : { tool_choice: toolChoice }),
  }
  return { body, outputTool }
}

const ephemeral = { type: "ephemeral" } as const
const allBreakpoints = ["system", "tools", "conversation"] as const

// The API allows 4 breakpoints: tools and system take two, the conversation the other two. The
// end of the messages writes this turn's prefix; the user message before the latest assistant
// message is where the turn before wrote its own, so this turn reads it even when more than the
// API's look-back window of blocks was added since.
const markConversation = (messages: Anthropic.MessageParam[]): void => {
  const last = messages.length - 1
  if (last < 0) return
  markMessage(messages, last)
  for (let index = last - 1; index >= 0; index--) {
    if (messages[index]?.role !== "assistant") continue
    if (index > 0) markMessage(messages, index - 1)
    return
  }
}

const markMessage = (messages: Anthropic.MessageParam[], index: number): void => {
  const message = messages[index] as Anthropic.MessageParam
  const blocks: Anthropic.ContentBlockParam[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : [...message.content]
  const end = blocks.at(-1)
  // Thinking blocks cannot carry a breakpoint; switchboard never sends them, but a block of any
  // other unmarkable kind is left alone too.
  if (end === undefined || end.type === "thinking" || end.type === "redacted_thinking") return
  blocks[blocks.length - 1] = { ...end, cache_control: ephemeral }
  messages[index] = { ...message, content: blocks } as Anthropic.MessageParam
}

const toToolChoice = (choice: ModelRequest["toolChoice"]): Anthropic.ToolChoice | undefined => {
  if (choice === undefined) return undefined
  if (typeof choice === "object") return { type: "tool", name: choice.name }
  if (choice === "required") return { type: "any" }
  return { type: choice }
}

// Tool names must match ^[a-zA-Z0-9_-]{1,64}$; a step name may not, and must not shadow a real tool.
const toolName = (name: string, taken: ReadonlySet<string>): string => {
  const base = name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 56) || "output"
  let candidate = base
  for (let suffix = 2; taken.has(candidate); suffix++) candidate = `${base}_${suffix}`
  return candidate
}

const withoutDialect = (schema: Record<string, unknown>): Record<string, unknown> => {
  const { $schema: _dialect, ...rest } = schema
  return rest
}

const objectSchema = (schema: Record<string, unknown>): Anthropic.Tool.InputSchema => ({ ...withoutDialect(schema), type: "object" })

/**
 * Converts the conversation: system messages leave (they go to `system`), tool results become
 * `tool_result` blocks in a user message, assistant tool calls become `tool_use` blocks, and
 * neighbours of the same role are merged, since the API wants user and assistant to alternate
 * and wants every result of a parallel call in the one user message after it.
 *
 * @example
 * toWireMessages([{ role: "tool", toolCallId: "toolu_1", name: "add", content: "3" }, { role: "tool", toolCallId: "toolu_2", name: "add", content: "5" }]).length // 1
 */
export const toWireMessages = (messages: readonly Message[]): Anthropic.MessageParam[] => {
  const wire: Array<{ role: "user" | "assistant"; content: Anthropic.ContentBlockParam[] }> = []
  for (const message of messages) {
    if (message.role === "system") continue
    const role = message.role === "assistant" ? "assistant" : "user"
    const blocks = toBlocks(message)
    const last = wire.at(-1)
    if (last !== undefined && last.role === role) last.content.push(...blocks)
    else wire.push({ role, content: blocks })
  }
  // A lone text block is sent as a plain string: the shortest form of the documented wire format.
  return wire.map(({ role, content }) => (content.length === 1 && content[0]?.type === "text" ? { role, content: content[0].text } : { role, content }))
}

const toBlocks = (message: Message): Anthropic.ContentBlockParam[] => {
  if (message.role === "tool") {
    return [{ type: "tool_result", tool_use_id: message.toolCallId, content: message.content, ...(message.isError === true ? { is_error: true } : {}) }]
  }
  if (message.role !== "assistant") return [{ type: "text", text: message.content }]
  // The API rejects empty text blocks; an assistant turn that only called tools has none.
  const text: Anthropic.ContentBlockParam[] = message.content === "" ? [] : [{ type: "text", text: message.content }]
  return [...text, ...(message.toolCalls ?? []).map(toToolUse)]
}

const toToolUse = (call: ToolCall): Anthropic.ToolUseBlockParam => ({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call.arguments) })

// `input` must be an object. Arguments kept as raw text (the model sent bad JSON) go back as they
// came when they parse now, else under `raw` so the model can see what it sent.
const toolInput = (value: unknown): Record<string, unknown> => {
  if (typeof value === "string") {
    try {
      value = JSON.parse(value)
    } catch {
      return { raw: value }
    }
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value }
}
