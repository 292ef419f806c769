import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { ModelError, type ModelRequest } from "../../../src/index.ts"
import { type FakeServer, sse, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, rejectionOf, secretKey, sentBody, sseFixture, toolConversation, tools } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const ask: ModelRequest = {
  messages: [
    { role: "system", content: "You are support." },
    { role: "user", content: "Where is my refund?" },
  ],
}

describe("openai chat: text", () => {
  it("answers with the text, normalised finish reason and usage with cached tokens", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") })
    const response = await modelFor(server, "chat").generate(ask, { signal: openSignal() })
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 1312, outputTokens: 9, cachedInputTokens: 1024 },
    })
  })

  it("posts to /v1/chat/completions with the key as bearer, no SDK retries, max_completion_tokens", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") })
    await modelFor(server, "chat").generate({ ...ask, temperature: 0, maxOutputTokens: 300 }, { signal: openSignal() })
    const [request] = server.requests
    expect(request).toMatchObject({ method: "POST", path: "/v1/chat/completions" })
    expect(request?.headers).toMatchObject({ authorization: `Bearer ${secretKey}`, "x-stainless-retry-count": "0" })
    expect(request?.body).toEqual({ model: "gpt-5-mini", messages: ask.messages, temperature: 0, max_completion_tokens: 300 })
  })
})

describe("openai chat: streaming", () => {
  it("asks for usage in the stream, reports deltas in order, and resolves with the whole answer", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("chat-text.sse") })
    const deltas: string[] = []
    const response = await modelFor(server, "chat").generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(sentBody(server)).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(deltas).toEqual(["Your", " refund", " is on its way."])
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 1312, outputTokens: 9, cachedInputTokens: 1024 },
    })
  })

  it("assembles parallel tool calls from argument deltas, by index", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("chat-tool-parallel.sse") })
    const response = await modelFor(server, "chat").generate({ ...ask, tools: [...tools] }, { signal: openSignal(), onDelta: () => {} })
    expect(response).toEqual({
      text: "",
      finishReason: "tool-calls",
      toolCalls: [
        { id: "call_7Qk2mLr9", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "call_9Xp4nVt2", name: "lookupCustomer", arguments: { email: "ada@example.com" } },
      ],
      usage: { inputTokens: 140, outputTokens: 46, cachedInputTokens: 0 },
    })
  })

  it("rejects a streamed refusal as content-filter", async () => {
    const chunk = (delta: unknown, finish: string | null = null) =>
      sse({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })
    server.reply({
      kind: "sse",
      chunks: [
        chunk({ role: "assistant", refusal: "" }),
        chunk({ refusal: "I'm sorry, " }),
        chunk({ refusal: "I can't help." }),
        chunk({}, "stop"),
        sse("[DONE]"),
      ],
    })
    const error = await rejectionOf(modelFor(server, "chat").generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "content-filter", retryable: false })
    expect((error as ModelError).message).toContain("I'm sorry, I can't help.")
  })

  it("rejects a stream with no choice at all as invalid-output (retryable)", async () => {
    server.reply({
      kind: "sse",
      chunks: [sse({ id: "c", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 5, completion_tokens: 0 } }), sse("[DONE]")],
    })
    const error = await rejectionOf(modelFor(server, "chat").generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "invalid-output", retryable: true })
  })
})

describe("openai chat: structured output", () => {
  it("asks for strict json_schema response_format and returns the raw JSON text", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-structured.json") })
    const jsonSchema = z.toJSONSchema(z.object({ kind: z.enum(["refund", "bug"]), confidence: z.number() })) as Record<string, unknown>
    const response = await modelFor(server, "chat").generate({ ...ask, output: { name: "classify", jsonSchema } }, { signal: openSignal() })
    expect(response.text).toBe('{"kind":"refund","confidence":0.92}')
    const { $schema: _draft, ...schema } = jsonSchema
    expect(sentBody(server)["response_format"]).toEqual({ type: "json_schema", json_schema: { name: "classify", schema, strict: true } })
    // The native mode needs no instruction in the prompt.
    expect(sentBody(server)["messages"]).toEqual(ask.messages)
  })

  it("sends strict: false for a schema with optional fields", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-structured.json") })
    const jsonSchema = z.toJSONSchema(z.object({ kind: z.string(), items: z.array(z.object({ sku: z.string(), note: z.string().optional() })) })) as Record<
      string,
      unknown
    >
    await modelFor(server, "chat").generate({ ...ask, output: { name: "classify", jsonSchema } }, { signal: openSignal() })
    expect(sentBody(server)["response_format"]).toMatchObject({ json_schema: { strict: false } })
  })

  it("rejects a refusal and a content_filter finish as content-filter", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-refusal.json") }, { kind: "json", body: jsonFixture("chat-content-filter.json") })
    const model = modelFor(server, "chat")
    expect(await rejectionOf(model.generate(ask, { signal: openSignal() }))).toMatchObject({ reason: "content-filter", retryable: false })
    expect(await rejectionOf(model.generate(ask, { signal: openSignal() }))).toMatchObject({ reason: "content-filter", retryable: false })
  })

  it("rejects empty choices as invalid-output, retryable: a well-formed answer without content", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-empty-choices.json") })
    const error = await rejectionOf(modelFor(server, "chat").generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ reason: "invalid-output", retryable: true })
  })
})

describe("openai chat: tools", () => {
  it("sends function tools, the tool choice, assistant tool calls and tool results in the wire format", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-tool-parallel.json") })
    await modelFor(server, "chat").generate({ messages: toolConversation, tools: [...tools], toolChoice: "auto" }, { signal: openSignal() })
    const body = sentBody(server)
    expect(body["tools"]).toEqual([
      {
        type: "function",
        function: {
          name: "lookupOrder",
          description: "Finds an order",
          parameters: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"], additionalProperties: false },
          strict: true,
        },
      },
      { type: "function", function: { name: "lookupCustomer", parameters: tools[1].inputSchema, strict: false } },
    ])
    expect(body["tool_choice"]).toBe("auto")
    expect(body["messages"]).toEqual([
      { role: "system", content: "You are support." },
      { role: "user", content: "Where is order A-1 for ada@example.com?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "lookupOrder", arguments: '{"orderId":"A-1"}' } },
          { id: "call_2", type: "function", function: { name: "lookupCustomer", arguments: '{"email":"ada@example.com"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"status":"shipped"}' },
      { role: "tool", tool_call_id: "call_2", content: "customer not found" },
    ])
  })

  it("returns parallel tool calls with parsed arguments and a named tool choice goes out as a function", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-tool-parallel.json") })
    const response = await modelFor(server, "chat").generate({ ...ask, tools: [...tools], toolChoice: { name: "lookupOrder" } }, { signal: openSignal() })
    expect(sentBody(server)["tool_choice"]).toEqual({ type: "function", function: { name: "lookupOrder" } })
    expect(response).toMatchObject({
      finishReason: "tool-calls",
      toolCalls: [
        { id: "call_7Qk2mLr9", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "call_9Xp4nVt2", name: "lookupCustomer", arguments: { email: "ada@example.com" } },
      ],
    })
  })
})
