// aiSdkModel over a real AI SDK provider package, @ai-sdk/openai-compatible, against a loopback
// server speaking the OpenAI Chat Completions wire format (recorded payloads in test/fixtures/openai).
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, aiSdkModel, llm, ModelError, maxSteps, pipeline, tool } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { jsonFixture, openSignal, rejectionOf, secretKey, sentBody, sseFixture } from "../openai/helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(() => server.close())

const provider = () =>
  createOpenAICompatible({ name: "local", baseURL: `${server.url}/v1`, apiKey: secretKey, includeUsage: true, supportsStructuredOutputs: true })
const local = () => aiSdkModel(provider().chatModel("gpt-5-mini"))

describe("aiSdkModel(@ai-sdk/openai-compatible)", () => {
  it("sends a Chat Completions request and reads the answer, usage and cached tokens", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") })
    const model = local()
    expect(model).toMatchObject({ provider: "local", model: "gpt-5-mini" })
    const response = await model.generate(
      {
        messages: [
          { role: "system", content: "You are support." },
          { role: "user", content: "Refund?" },
        ],
        temperature: 0,
      },
      { signal: openSignal() },
    )
    expect(response).toEqual({
      text: "Your refund is on its way.",
      usage: { inputTokens: 1312, outputTokens: 9, cachedInputTokens: 1024 },
      finishReason: "stop",
    })
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions" })
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${secretKey}`)
    expect(sentBody(server)).toMatchObject({
      model: "gpt-5-mini",
      temperature: 0,
      messages: [
        { role: "system", content: "You are support." },
        { role: "user", content: "Refund?" },
      ],
    })
  })

  it("streams parallel tool calls and reports them whole", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("chat-tool-parallel.sse") })
    const deltas: string[] = []
    const response = await local().generate(
      {
        messages: [{ role: "user", content: "Where is A-1 for ada@example.com?" }],
        tools: [
          { name: "lookupOrder", inputSchema: { type: "object", properties: { orderId: { type: "string" } } } },
          { name: "lookupCustomer", inputSchema: { type: "object", properties: { email: { type: "string" } } } },
        ],
      },
      { signal: openSignal(), onDelta: (text) => deltas.push(text) },
    )
    expect(response.toolCalls).toEqual([
      { id: "call_7Qk2mLr9", name: "lookupOrder", arguments: { orderId: "A-1" } },
      expect.objectContaining({ name: expect.any(String), arguments: { email: "ada@example.com" } }),
    ])
    expect(response).toMatchObject({ finishReason: "tool-calls", usage: { inputTokens: 140, outputTokens: 46 } })
    expect(sentBody(server)).toMatchObject({ stream: true, tools: [{ type: "function", function: { name: "lookupOrder" } }, { type: "function" }] })
  })

  it("maps a 429 with retry-after to rate-limited with the wait, and a 401 to authentication", async () => {
    server.reply(
      { kind: "json", status: 429, headers: { "retry-after": "2" }, body: jsonFixture("error-rate-limit.json") },
      { kind: "json", status: 401, body: jsonFixture("error-authentication.json") },
    )
    const limited = await rejectionOf(local().generate({ messages: [{ role: "user", content: "hi" }] }, { signal: openSignal() }))
    expect(limited).toBeInstanceOf(ModelError)
    expect(limited).toMatchObject({ reason: "rate-limited", retryable: true, retryAfterMs: 2000, status: 429 })
    const denied = await rejectionOf(local().generate({ messages: [{ role: "user", content: "hi" }] }, { signal: openSignal() }))
    expect(denied).toMatchObject({ reason: "authentication", retryable: false, status: 401 })
    expect(JSON.stringify(denied)).not.toContain(secretKey)
  })

  it("runs a pipeline: an llm step's output schema goes out as a JSON schema response format, an agent calls a tool", async () => {
    server.reply(
      { kind: "json", body: jsonFixture("chat-structured.json") },
      { kind: "json", body: jsonFixture("chat-tool-parallel.json") },
      { kind: "json", body: jsonFixture("chat-text.json") },
    )
    const looked: string[] = []
    const lookupOrder = tool({
      name: "lookupOrder",
      input: z.object({ orderId: z.string() }),
      run: ({ orderId }) => (looked.push(orderId), { status: "shipped" }),
    })
    const lookupCustomer = tool({ name: "lookupCustomer", input: z.object({ email: z.string() }), run: ({ email }) => ({ email, tier: "gold" }) })
    const support = pipeline({ id: "ai-sdk-support", input: z.object({ ticket: z.string() }) })
      .step("classify", llm({ model: "fast", prompt: ({ input }) => input.ticket, output: z.object({ kind: z.string(), confidence: z.number() }) }))
      .step("resolve", agent({ model: "fast", prompt: ({ input }) => input.ticket, tools: { lookupOrder, lookupCustomer }, stop: [maxSteps(3)] }))
      .edges({ classify: "resolve", resolve: "done" })
    const result = await support.run({ ticket: "Where is A-1?" }, { models: { fast: local() } })
    expect(result).toMatchObject({ status: "done", output: "Your refund is on its way.", steps: { classify: { kind: "refund", confidence: 0.92 } } })
    expect(looked).toEqual(["A-1"])
    const [classify, , answer] = server.requests.map((request) => request.body as Record<string, unknown>)
    expect(classify).toMatchObject({ response_format: { type: "json_schema", json_schema: { schema: { properties: { kind: { type: "string" } } } } } })
    // The tool results go back as `tool` messages with the call ids the model gave.
    expect(answer?.["messages"]).toEqual(expect.arrayContaining([expect.objectContaining({ role: "tool", tool_call_id: "call_7Qk2mLr9" })]))
  })
})
