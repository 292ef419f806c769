import type { FunctionTool, ResponseCreateParamsBase, ResponseInputItem, ToolChoiceFunction, ToolChoiceOptions } from "openai/resources/responses/responses"
import type { ModelRequest, PromptCacheHint } from "../../contract/model.ts"
import { promptCacheKeyOf } from "./prompt-cache.ts"
import { isStrictCompatible, wireName, wireSchema } from "./schema.ts"

/** The Responses API request body for a switchboard request. */
export const responsesBody = (model: string, request: ModelRequest, stream: boolean, promptCache?: PromptCacheHint | false): ResponseCreateParamsBase => ({
  model,
  input: request.messages.flatMap(toInputItems),
  ...(request.tools === undefined || request.tools.length === 0 ? {} : { tools: request.tools.map(toFunctionTool) }),
  ...(request.toolChoice === undefined ? {} : { tool_choice: toToolChoice(request.toolChoice) }),
  ...(request.output === undefined
    ? {}
    : {
        text: {
          format: {
            type: "json_schema" as const,
            name: wireName(request.output.name),
            schema: wireSchema(request.output.jsonSchema),
            // Strict when the schema allows it; otherwise OpenAI would reject the request (see isStrictCompatible).
            strict: isStrictCompatible(request.output.jsonSchema),
          },
        },
      }),
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  ...(request.maxOutputTokens === undefined ? {} : { max_output_tokens: request.maxOutputTokens }),
  ...promptCacheKeyOf(promptCache),
  ...(stream ? { stream: true } : {}),
})

const toInputItems = (message: ModelRequest["messages"][number]): ResponseInputItem[] => {
  switch (message.role) {
    case "system":
    case "user":
      return [{ role: message.role, content: message.content }]
    case "assistant":
      // The Responses API has tool calls as items of their own, after the assistant's text.
      return [
        ...(message.content === "" && (message.toolCalls?.length ?? 0) > 0 ? [] : [{ role: "assistant" as const, content: message.content }]),
        ...(message.toolCalls ?? []).map((call) => ({
          type: "function_call" as const,
          call_id: call.id,
          name: call.name,
          arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {}),
        })),
      ]
    case "tool":
      // No error flag on the wire: the output carries the tool's error text as written.
      return [{ type: "function_call_output", call_id: message.toolCallId, output: message.content }]
  }
}

// The Responses API makes function tools strict by default; a schema with optional fields would be rejected.
const toFunctionTool = (tool: NonNullable<ModelRequest["tools"]>[number]): FunctionTool => ({
  type: "function",
  name: tool.name,
  ...(tool.description === undefined ? {} : { description: tool.description }),
  parameters: wireSchema(tool.inputSchema),
  strict: isStrictCompatible(tool.inputSchema),
})

const toToolChoice = (choice: NonNullable<ModelRequest["toolChoice"]>): ToolChoiceOptions | ToolChoiceFunction =>
  typeof choice === "string" ? choice : { type: "function", name: choice.name }
