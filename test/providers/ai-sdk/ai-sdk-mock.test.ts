// aiSdkModel against the AI SDK's own mock of the LanguageModel specification (v4): what each
// request becomes as call options, and what results, streams and errors become.
import { APICallError, type LanguageModelV4GenerateResult, type LanguageModelV4StreamPart } from "@ai-sdk/provider"
import { convertArrayToReadableStream, MockLanguageModelV4 } from "ai/test"
import { afterEach, describe, expect, it, vi } from "vitest"
import { aiSdkModel, ModelError, type ModelRequest } from "../../../src/index.ts"
import { openSignal, rejectionOf } from "../fixtures.ts"

const usage = (input: number, output: number, cacheRead?: number): LanguageModelV4GenerateResult["usage"] => ({
  inputTokens: { total: input, noCache: undefined, cacheRead, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
})
const generated = (content: LanguageModelV4GenerateResult["content"], extra: Partial<LanguageModelV4GenerateResult> = {}): LanguageModelV4GenerateResult => ({
  content,
  finishReason: { unified: "stop", raw: "stop" },
  usage: usage(100, 20, 64),
  warnings: [],
  ...extra,
})

const conversation: ModelRequest = {
  messages: [
    { role: "system", content: "You are support." },
    { role: "user", content: "Where is A-1?" },
    {
      role: "assistant",
      content: "",
      toolCalls: [
        { id: "c1", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "c2", name: "track", arguments: { id: 7 } },
      ],
    },
    { role: "tool", toolCallId: "c1", name: "lookupOrder", content: '{"status":"shipped"}' },
    { role: "tool", toolCallId: "c2", name: "track", content: "no such parcel", isError: true },
  ],
  tools: [{ name: "lookupOrder", description: "Look an order up", inputSchema: { type: "object", properties: { orderId: { type: "string" } } } }],
  toolChoice: { name: "lookupOrder" },
  temperature: 0.2,
  maxOutputTokens: 300,
  output: { name: "answer", jsonSchema: { type: "object", properties: { status: { type: "string" } } } },
}

afterEach(() => {
  vi.useRealTimers()
})

describe("aiSdkModel with the specification's mock model", () => {
  it("sends the conversation as the spec's prompt parts, with tools, tool choice, response format and settings", async () => {
    const mock = new MockLanguageModelV4({ provider: "acme.chat", modelId: "acme-1", doGenerate: generated([{ type: "text", text: '{"status":"shipped"}' }]) })
    const model = aiSdkModel(mock, { headers: { "x-team": "support" }, providerOptions: { acme: { tier: "fast" } } })
    expect(model).toMatchObject({ provider: "acme", model: "acme-1" })
    const response = await model.generate(conversation, { signal: openSignal() })
    expect(response).toEqual({ text: '{"status":"shipped"}', usage: { inputTokens: 100, outputTokens: 20, cachedInputTokens: 64 }, finishReason: "stop" })
    const sent = mock.doGenerateCalls[0]
    expect(sent?.prompt).toEqual([
      { role: "system", content: "You are support." },
      { role: "user", content: [{ type: "text", text: "Where is A-1?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool-call", toolCallId: "c1", toolName: "lookupOrder", input: { orderId: "A-1" } },
          { type: "tool-call", toolCallId: "c2", toolName: "track", input: { id: 7 } },
        ],
      },
      {
        role: "tool",
        content: [
          { type: "tool-result", toolCallId: "c1", toolName: "lookupOrder", output: { type: "text", value: '{"status":"shipped"}' } },
          { type: "tool-result", toolCallId: "c2", toolName: "track", output: { type: "error-text", value: "no such parcel" } },
        ],
      },
    ])
    expect(sent).toMatchObject({
      tools: [{ type: "function", name: "lookupOrder", description: "Look an order up", inputSchema: conversation.tools?.[0]?.inputSchema }],
      toolChoice: { type: "tool", toolName: "lookupOrder" },
      responseFormat: { type: "json", name: "answer", schema: conversation.output?.jsonSchema },
      temperature: 0.2,
      maxOutputTokens: 300,
      headers: { "x-team": "support" },
      providerOptions: { acme: { tier: "fast" } },
    })
    expect(sent?.abortSignal).toBeInstanceOf(AbortSignal)
  })

  it("returns the model's tool calls with parsed arguments, and leaves the provider's own tools out", async () => {
    const mock = new MockLanguageModelV4({
      doGenerate: generated(
        [
          { type: "text", text: "Looking." },
          { type: "tool-call", toolCallId: "t1", toolName: "lookupOrder", input: '{"orderId":"A-1"}' },
          { type: "tool-call", toolCallId: "t2", toolName: "lookupOrder", input: "{not json" },
          { type: "tool-call", toolCallId: "t3", toolName: "web_search", input: "{}", providerExecuted: true },
        ],
        { finishReason: { unified: "tool-calls", raw: "tool_calls" } },
      ),
    })
    const response = await aiSdkModel(mock).generate({ messages: [{ role: "user", content: "A-1?" }] }, { signal: openSignal() })
    expect(response).toMatchObject({
      text: "Looking.",
      finishReason: "tool-calls",
      toolCalls: [
        { id: "t1", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "t2", name: "lookupOrder", arguments: "{not json" },
      ],
    })
  })

  it("answers a structured request with the provider's structured output text when it gives one", async () => {
    const mock = new MockLanguageModelV4({ doGenerate: generated([{ type: "text", text: "Here you go" }], { structuredOutputText: '{"status":"lost"}' }) })
    const response = await aiSdkModel(mock).generate(conversation, { signal: openSignal() })
    expect(response.text).toBe('{"status":"lost"}')
  })

  it("streams text to onDelta and returns the whole answer, its tool calls and usage", async () => {
    const parts: LanguageModelV4StreamPart[] = [
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "1" },
      { type: "text-delta", id: "1", delta: "Your " },
      { type: "text-delta", id: "1", delta: "refund." },
      { type: "text-end", id: "1" },
      { type: "tool-call", toolCallId: "s1", toolName: "notify", input: '{"to":"ada"}' },
      { type: "finish", finishReason: { unified: "other", raw: "eos" }, usage: usage(40, 5) },
    ]
    const mock = new MockLanguageModelV4({ doStream: { stream: convertArrayToReadableStream(parts) } })
    const deltas: string[] = []
    const response = await aiSdkModel(mock).generate(
      { messages: [{ role: "user", content: "?" }] },
      { signal: openSignal(), onDelta: (text) => deltas.push(text) },
    )
    expect(deltas).toEqual(["Your ", "refund."])
    expect(response).toEqual({
      text: "Your refund.",
      toolCalls: [{ id: "s1", name: "notify", arguments: { to: "ada" } }],
      usage: { inputTokens: 40, outputTokens: 5 },
      finishReason: "eos",
    })
    expect(mock.doGenerateCalls).toHaveLength(0)
  })

  it("fails a stream with an error part, and one that sends nothing past the first-token timeout", async () => {
    const broken = new MockLanguageModelV4({
      doStream: { stream: convertArrayToReadableStream<LanguageModelV4StreamPart>([{ type: "error", error: { error: { message: "upstream fell over" } } }]) },
    })
    const error = await rejectionOf(aiSdkModel(broken).generate({ messages: [] }, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toBeInstanceOf(ModelError)
    expect((error as ModelError).message).toContain("upstream fell over")

    vi.useFakeTimers()
    let request: AbortSignal | undefined
    const silent = new MockLanguageModelV4({
      doStream: async (options) => {
        request = options.abortSignal
        return { stream: new ReadableStream<LanguageModelV4StreamPart>() }
      },
    })
    const pending = rejectionOf(aiSdkModel(silent).generate({ messages: [] }, { signal: openSignal(), onDelta: () => {}, firstTokenTimeoutMs: 5_000 }))
    await vi.advanceTimersByTimeAsync(5_001)
    expect(await pending).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    // The provider's request is aborted (a real one then closes its connection).
    expect(request?.aborted).toBe(true)
  })

  it.each([
    [429, { "retry-after": "3" }, "Too many requests", { reason: "rate-limited", retryable: true, retryAfterMs: 3000, status: 429 }],
    [401, {}, "Invalid API key", { reason: "authentication", retryable: false, status: 401 }],
    [400, {}, "This model's maximum context length is 8192 tokens", { reason: "context-too-long", retryable: false }],
    [503, {}, "Service unavailable", { reason: "overloaded", retryable: true }],
    [500, {}, "Internal error", { reason: "server", retryable: true }],
  ] as const)("maps an APICallError with status %i to a ModelError", async (statusCode, responseHeaders, message, expected) => {
    const mock = new MockLanguageModelV4({
      provider: "acme.chat",
      modelId: "acme-1",
      doGenerate: async () => {
        throw new APICallError({ message, url: "http://127.0.0.1/v1", requestBodyValues: {}, statusCode, responseHeaders, isRetryable: statusCode >= 429 })
      },
    })
    const error = await rejectionOf(aiSdkModel(mock).generate({ messages: [] }, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ provider: "acme", model: "acme-1", ...expected })
    expect((error as ModelError).message).toContain(message)
  })

  it("rejects with the caller's abort reason, and passes the abort on to the provider", async () => {
    let seen: AbortSignal | undefined
    const mock = new MockLanguageModelV4({
      doGenerate: (options) =>
        new Promise((_, reject) => {
          seen = options.abortSignal
          options.abortSignal?.addEventListener("abort", () => reject(new Error("aborted by signal")))
        }),
    })
    const controller = new AbortController()
    const pending = rejectionOf(aiSdkModel(mock).generate({ messages: [] }, { signal: controller.signal }))
    const reason = new Error("step left")
    controller.abort(reason)
    expect(await pending).toBe(reason)
    expect(seen?.aborted).toBe(true)
  })

  it("refuses a model of another specification version with a TypeError naming it", () => {
    const old = { ...new MockLanguageModelV4({ provider: "legacy", modelId: "m" }), specificationVersion: "v2" }
    expect(() => aiSdkModel(old as unknown as MockLanguageModelV4)).toThrow(/expected a LanguageModel of specification v4.*got "v2"/)
  })
})
