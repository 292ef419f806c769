import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions"
import type { ResponseCreateParamsNonStreaming, ResponseCreateParamsStreaming } from "openai/resources/responses/responses"
import type { Model } from "../../contract/model.ts"
import { keyMasking } from "../shared.ts"
import { type ChatDialect, chatBody } from "./chat-request.ts"
import { readChatCompletion, readChatStream } from "./chat-response.ts"
import { type Connection, connect } from "./client.ts"
import { responsesBody } from "./responses-request.ts"
import { readResponse, readResponseStream } from "./responses-response.ts"

// The body is read here, not by the SDK: its post-processing breaks on a body that is not an
// object, and a `SyntaxError` from a truncated or non-JSON body maps to a `server` error.
const jsonBody = async (response: Promise<Response>): Promise<unknown> => JSON.parse(await (await response).text())

/** A `Model` over Chat Completions: streams when the caller wants deltas, else one JSON answer. */
export const chatModel = (connection: Connection, dialect: ChatDialect): Model => {
  const run = connect(connection)
  return {
    provider: connection.provider,
    model: connection.model,
    generate: (request, options) =>
      run(options, async ({ client, signal, context, stream }) => {
        const { onDelta } = options
        // A server that echoes the key in its answer must not put it in the journal either.
        const masking = keyMasking(context.secrets)
        if (onDelta === undefined) {
          const body = chatBody(connection.model, request, dialect, false, options.promptCache) as ChatCompletionCreateParamsNonStreaming
          return masking.response(readChatCompletion(await jsonBody(client.chat.completions.create(body, { signal }).asResponse()), context))
        }
        const body = chatBody(connection.model, request, dialect, true, options.promptCache) as ChatCompletionCreateParamsStreaming
        return masking.response(
          await readChatStream(
            stream(() => client.chat.completions.create(body, { signal })),
            context,
            (text) => onDelta(masking.text(text)),
          ),
        )
      }),
  }
}

/** A `Model` over the Responses API: streams when the caller wants deltas, else one JSON answer. */
export const responsesModel = (connection: Connection): Model => {
  const run = connect(connection)
  return {
    provider: connection.provider,
    model: connection.model,
    generate: (request, options) =>
      run(options, async ({ client, signal, context, stream }) => {
        const { onDelta } = options
        const masking = keyMasking(context.secrets)
        if (onDelta === undefined) {
          const body = responsesBody(connection.model, request, false, options.promptCache) as ResponseCreateParamsNonStreaming
          return masking.response(readResponse(await jsonBody(client.responses.create(body, { signal }).asResponse()), context))
        }
        const body = responsesBody(connection.model, request, true, options.promptCache) as ResponseCreateParamsStreaming
        return masking.response(
          await readResponseStream(
            stream(() => client.responses.create(body, { signal })),
            context,
            (text) => onDelta(masking.text(text)),
          ),
        )
      }),
  }
}
