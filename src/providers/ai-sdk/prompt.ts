// switchboard's provider-neutral request, as the call options of the AI SDK's LanguageModel
// specification (v4): the prompt's message parts, function tools, tool choice, JSON response format.

import type {
  LanguageModelV4CallOptions,
  LanguageModelV4FunctionTool,
  LanguageModelV4Message,
  LanguageModelV4ToolChoice,
  LanguageModelV4ToolResultPart,
  SharedV4ProviderOptions,
} from "@ai-sdk/provider"
import type { Message, ModelRequest } from "../../contract/model.ts"

type AssistantPart = Extract<LanguageModelV4Message, { role: "assistant" }>["content"][number]

const messageOf = (message: Message): LanguageModelV4Message => {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content }
    case "user":
      return { role: "user", content: [{ type: "text", text: message.content }] }
    case "assistant": {
      const content: AssistantPart[] = message.content === "" ? [] : [{ type: "text", text: message.content }]
      for (const call of message.toolCalls ?? []) content.push({ type: "tool-call", toolCallId: call.id, toolName: call.name, input: call.arguments })
      return { role: "assistant", content }
    }
    case "tool":
      return { role: "tool", content: [toolResultOf(message)] }
  }
}

const toolResultOf = (message: Extract<Message, { role: "tool" }>): LanguageModelV4ToolResultPart => ({
  type: "tool-result",
  toolCallId: message.toolCallId,
  toolName: message.name,
  output: message.isError === true ? { type: "error-text", value: message.content } : { type: "text", value: message.content },
})

// The results of one turn's calls travel in one tool message, as the AI SDK itself sends them.
const promptOf = (messages: readonly Message[]): LanguageModelV4Message[] => {
  const prompt: LanguageModelV4Message[] = []
  for (const message of messages) {
    const converted = messageOf(message)
    const previous = prompt.at(-1)
    if (converted.role === "tool" && previous?.role === "tool") previous.content.push(...converted.content)
    else prompt.push(converted)
  }
  return prompt
}

const toolChoiceOf = (choice: NonNullable<ModelRequest["toolChoice"]>): LanguageModelV4ToolChoice =>
  typeof choice === "string" ? { type: choice } : { type: "tool", toolName: choice.name }

/** The call options of one request; the signal and headers come from the call. */
export const callOptionsOf = (
  request: ModelRequest,
  extra: { readonly signal: AbortSignal; readonly headers?: Record<string, string>; readonly providerOptions?: SharedV4ProviderOptions },
): LanguageModelV4CallOptions => {
  const tools = request.tools?.map(
    (tool): LanguageModelV4FunctionTool => ({
      type: "function",
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      inputSchema: tool.inputSchema as LanguageModelV4FunctionTool["inputSchema"],
    }),
  )
  return {
    prompt: promptOf(request.messages),
    abortSignal: extra.signal,
    ...(tools === undefined || tools.length === 0 ? {} : { tools }),
    ...(request.toolChoice === undefined ? {} : { toolChoice: toolChoiceOf(request.toolChoice) }),
    ...(request.output === undefined
      ? {}
      : { responseFormat: { type: "json", name: request.output.name, schema: request.output.jsonSchema as LanguageModelV4FunctionTool["inputSchema"] } }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
    ...(extra.headers === undefined ? {} : { headers: extra.headers }),
    ...(extra.providerOptions === undefined ? {} : { providerOptions: extra.providerOptions }),
  }
}
