import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionTool,
  ChatCompletionToolChoiceOption,
} from "openai/resources/chat/completions"
import type { ModelRequest, PromptCacheHint } from "../../contract/model.ts"
import { promptCacheKeyOf } from "./prompt-cache.ts"
import { isStrictCompatible, schemaInstruction, wireName, wireSchema } from "./schema.ts"

/** How a Chat Completions server takes structured output and limits. */
export interface ChatDialect {
  /** `json_schema` (native), `json_object` (JSON mode plus the schema in the system message), or `none` (the schema in the system message only). */
  readonly structuredOutput: "json_schema" | "json_object" | "none"
  /** Send `strict` on schemas and tools (OpenAI itself); other servers may reject or ignore it. */
  readonly strict: boolean
  /** OpenAI deprecated `max_tokens`; most compatible servers know only it. */
  readonly maxTokensField: "max_completion_tokens" | "max_tokens"
  /** Send `prompt_cache_key` (OpenAI itself); a compatible server may reject a field it does not know. */
  readonly promptCacheKey?: boolean
}

/** The Chat Completions request body for a switchboard request. */
export const chatBody = (
  model: string,
  request: ModelRequest,
  dialect: ChatDialect,
  stream: boolean,
  promptCache?: PromptCacheHint | false,
): ChatCompletionCreateParamsBase => {
  const output = request.output
  const instruction = output !== undefined && dialect.structuredOutput !== "json_schema" ? schemaInstruction(output.jsonSchema) : undefined
  return {
    model,
    messages: withInstruction(request.messages.map(toChatMessage), instruction),
    ...(request.tools === undefined || request.tools.length === 0 ? {} : { tools: request.tools.map((tool) => toChatTool(tool, dialect)) }),
    ...(request.toolChoice === undefined ? {} : { tool_choice: toChatToolChoice(request.toolChoice) }),
    ...(output === undefined ? {} : responseFormat(output, dialect)),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxOutputTokens === undefined ? {} : { [dialect.maxTokensField]: request.maxOutputTokens }),
    ...(dialect.promptCacheKey === true ? promptCacheKeyOf(promptCache) : {}),
    // Usage arrives in a last chunk with no choices, only when asked for.
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  }
}

const toChatMessage = (message: ModelRequest["messages"][number]): ChatCompletionMessageParam => {
  switch (message.role) {
    case "system":
    case "user":
      return { role: message.role, content: message.content }
    case "assistant":
      if (message.toolCalls === undefined || message.toolCalls.length === 0) return { role: "assistant", content: message.content }
      return {
        role: "assistant",
        content: message.content === "" ? null : message.content,
        tool_calls: message.toolCalls.map((call) => ({
          id: call.id,
          type: "function" as const,
          function: { name: call.name, arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}) },
        })),
      }
    case "tool":
      // The wire format has no error flag: the content carries the tool's error text as written.
      return { role: "tool", tool_call_id: message.toolCallId, content: message.content }
  }
}

// Some servers' chat templates accept one system message, first: the instruction joins it.
const withInstruction = (messages: ChatCompletionMessageParam[], instruction: string | undefined): ChatCompletionMessageParam[] => {
  if (instruction === undefined) return messages
  const [first, ...rest] = messages
  if (first?.role === "system" && typeof first.content === "string") return [{ role: "system", content: `${first.content}\n\n${instruction}` }, ...rest]
  return [{ role: "system", content: instruction }, ...messages]
}

const toChatTool = (tool: NonNullable<ModelRequest["tools"]>[number], dialect: ChatDialect): ChatCompletionTool => ({
  type: "function",
  function: {
    name: tool.name,
    ...(tool.description === undefined ? {} : { description: tool.description }),
    parameters: wireSchema(tool.inputSchema),
    ...(dialect.strict ? { strict: isStrictCompatible(tool.inputSchema) } : {}),
  },
})

const toChatToolChoice = (choice: NonNullable<ModelRequest["toolChoice"]>): ChatCompletionToolChoiceOption =>
  typeof choice === "string" ? choice : { type: "function", function: { name: choice.name } }

const responseFormat = (output: NonNullable<ModelRequest["output"]>, dialect: ChatDialect): Pick<ChatCompletionCreateParamsBase, "response_format"> => {
  switch (dialect.structuredOutput) {
    case "json_schema":
      return {
        response_format: {
          type: "json_schema",
          json_schema: {
            name: wireName(output.name),
            schema: wireSchema(output.jsonSchema),
            ...(dialect.strict ? { strict: isStrictCompatible(output.jsonSchema) } : {}),
          },
        },
      }
    case "json_object":
      return { response_format: { type: "json_object" } }
    case "none":
      return {}
  }
}
