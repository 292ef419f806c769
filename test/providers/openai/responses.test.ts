import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { ModelError, type ModelRequest } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
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

describe("openai responses: text", () => {
  it("answers with all message text (reasoning items skipped), finish reason and usage with cached tokens", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-text.json") })
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal() })
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 1312, outputTokens: 73, cachedInputTokens: 1024 },
    })
  })

  it("posts to /v1/responses with the key as bearer, no SDK retries, and messages as input items", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-text.json") })
    const model = modelFor(server, "responses", { defaultHeaders: { "x-team": "support" }, organization: "org-switchboard" })
    expect(model).toMatchObject({ provider: "openai", model: "gpt-5-mini" })
    await model.generate({ ...ask, temperature: 0.2, maxOutputTokens: 300 }, { signal: openSignal() })
    const [request] = server.requests
    expect(request).toMatchObject({ method: "POST", path: "/v1/responses" })
    expect(request?.headers).toMatchObject({ authorization: `Bearer ${secretKey}`, "x-team": "support", "openai-organization": "org-switchboard" })
    expect(request?.headers["x-stainless-retry-count"]).toBe("0")
    expect(request?.body).toEqual({
      model: "gpt-5-mini",
      input: [
        { role: "system", content: "You are support." },
        { role: "user", content: "Where is my refund?" },
      ],
      temperature: 0.2,
      max_output_tokens: 300,
    })
  })

  it("reports length when the response is incomplete for lack of output tokens", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-incomplete.json") })
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal() })
    expect(response).toMatchObject({ text: '{"kind":"ref', finishReason: "length" })
  })
})

describe("openai responses: streaming", () => {
  it("reports each text delta in order and resolves with the whole answer and usage", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("responses-text.sse") })
    const deltas: string[] = []
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas).toEqual(["Your", " refund", " is on its way."])
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 1312, outputTokens: 73, cachedInputTokens: 1024 },
    })
    expect(sentBody(server)).toMatchObject({ stream: true })
  })

  it("assembles parallel function calls from streamed argument deltas", async () => {
    // Without the final `done` events, only the deltas can give the arguments.
    const chunks = sseFixture("responses-function-calls.sse").filter(
      (chunk) => !chunk.includes("function_call_arguments.done") && !chunk.includes("output_item.done"),
    )
    server.reply({ kind: "sse", chunks })
    const response = await modelFor(server, "responses").generate({ ...ask, tools: [...tools] }, { signal: openSignal(), onDelta: () => {} })
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

  it("maps an error event after HTTP 200 (insufficient quota) to a non-retryable authentication error", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("responses-error-event.sse") })
    const error = await rejectionOf(modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ provider: "openai", model: "gpt-5-mini", reason: "authentication", retryable: false })
    expect((error as ModelError).message).toContain("exceeded your current quota")
  })

  it("maps a response.failed event with a server error code to a retryable server error", async () => {
    const failed = { type: "response.failed", response: { status: "failed", error: { code: "server_error", message: "The server had an error" }, output: [] } }
    server.reply({ kind: "sse", chunks: [sseFixture("responses-text.sse")[0] as string, `event: response.failed\ndata: ${JSON.stringify(failed)}\n\n`] })
    const error = await rejectionOf(modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "server", retryable: true })
  })

  it("treats a stream that ends without response.completed as a broken connection", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("responses-text.sse").slice(0, -1) })
    const error = await rejectionOf(modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "network", retryable: true })
  })
})

describe("openai responses: structured output", () => {
  it("asks for strict json_schema text format and returns the raw JSON text", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-structured.json") })
    const jsonSchema = z.toJSONSchema(z.object({ kind: z.enum(["refund", "bug"]), confidence: z.number() })) as Record<string, unknown>
    const response = await modelFor(server, "responses").generate({ ...ask, output: { name: "classify", jsonSchema } }, { signal: openSignal() })
    expect(response.text).toBe('{"kind":"refund","confidence":0.92}')
    const { $schema: _draft, ...schema } = jsonSchema
    expect(sentBody(server)["text"]).toEqual({ format: { type: "json_schema", name: "classify", schema, strict: true } })
  })

  it("sends strict: false when the schema has optional fields (strict mode would reject it)", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-structured.json") })
    const jsonSchema = z.toJSONSchema(z.object({ kind: z.string(), note: z.string().optional() })) as Record<string, unknown>
    await modelFor(server, "responses").generate({ ...ask, output: { name: "triage step", jsonSchema } }, { signal: openSignal() })
    expect(sentBody(server)["text"]).toMatchObject({ format: { name: "triage_step", strict: false } })
  })

  it("rejects a refusal as content-filter, not retryable", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-refusal.json") })
    const error = await rejectionOf(modelFor(server, "responses").generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "content-filter", retryable: false })
    expect((error as ModelError).message).toContain("can't help")
  })
})

describe("openai responses: tools", () => {
  it("sends tools (strict only when the schema allows), the tool choice, and calls and results as items", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-function-calls.json") })
    await modelFor(server, "responses").generate(
      { messages: toolConversation, tools: [...tools], toolChoice: { name: "lookupOrder" } },
      { signal: openSignal() },
    )
    const body = sentBody(server)
    expect(body["tools"]).toEqual([
      {
        type: "function",
        name: "lookupOrder",
        description: "Finds an order",
        parameters: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"], additionalProperties: false },
        strict: true,
      },
      { type: "function", name: "lookupCustomer", parameters: tools[1].inputSchema, strict: false },
    ])
    expect(body["tool_choice"]).toEqual({ type: "function", name: "lookupOrder" })
    expect(body["input"]).toEqual([
      { role: "system", content: "You are support." },
      { role: "user", content: "Where is order A-1 for ada@example.com?" },
      { type: "function_call", call_id: "call_1", name: "lookupOrder", arguments: '{"orderId":"A-1"}' },
      { type: "function_call", call_id: "call_2", name: "lookupCustomer", arguments: '{"email":"ada@example.com"}' },
      { type: "function_call_output", call_id: "call_1", output: '{"status":"shipped"}' },
      { type: "function_call_output", call_id: "call_2", output: "customer not found" },
    ])
  })

  it("returns parallel function calls by call id with parsed arguments", async () => {
    server.reply({ kind: "json", body: jsonFixture("responses-function-calls.json") })
    const response = await modelFor(server, "responses").generate({ ...ask, tools: [...tools], toolChoice: "required" }, { signal: openSignal() })
    expect(sentBody(server)["tool_choice"]).toBe("required")
    expect(response).toMatchObject({
      finishReason: "tool-calls",
      toolCalls: [
        { id: "call_7Qk2mLr9", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "call_9Xp4nVt2", name: "lookupCustomer", arguments: { email: "ada@example.com" } },
      ],
    })
  })

  it("keeps unparseable arguments as the raw text", async () => {
    const body = jsonFixture("responses-function-calls.json") as { output: Array<Record<string, unknown>> }
    body.output = [{ type: "function_call", call_id: "call_x", name: "lookupOrder", arguments: '{"orderId": "A-' }]
    server.reply({ kind: "json", body })
    const response = await modelFor(server, "responses").generate({ ...ask, tools: [...tools] }, { signal: openSignal() })
    expect(response.toolCalls).toEqual([{ id: "call_x", name: "lookupOrder", arguments: '{"orderId": "A-' }])
  })
})
