import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { anthropic, ModelError } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, rejectionOf, secretKey, sentBody, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

describe("anthropic: plain messages", () => {
  it("answers with the text, normalised finish reason and usage (cache reads included in input)", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    const response = await modelFor(server).generate({ messages: [{ role: "user", content: "Where is my refund?" }] }, { signal: openSignal() })
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 21 + 4 + 1200, outputTokens: 9, cachedInputTokens: 1200 },
    })
  })

  it("sends the Messages API request: path, key as bearer, version, system on top, max_tokens default 4096", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    const model = modelFor(server, { defaultHeaders: { "x-team": "support" } })
    expect(model).toMatchObject({ provider: "anthropic", model: "claude-sonnet-5" })
    await model.generate(
      {
        messages: [
          { role: "system", content: "You are support." },
          { role: "user", content: "Hello" },
          { role: "assistant", content: "Hi, how can I help?" },
          { role: "user", content: "Where is my refund?" },
        ],
        temperature: 0.2,
      },
      { signal: openSignal(), promptCache: false },
    )
    const [request] = server.requests
    expect(request).toMatchObject({ method: "POST", path: "/v1/messages" })
    expect(request?.headers).toMatchObject({ authorization: `Bearer ${secretKey}`, "anthropic-version": "2026-10-21", "x-team": "support" })
    expect(request?.headers["x-stainless-retry-count"]).toBe("0")
    expect(request?.body).toEqual({
      model: "claude-sonnet-5",
      max_tokens: 4096,
      system: "You are support.",
      temperature: 0.2,
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi, how can I help?" },
        { role: "user", content: "Where is my refund?" },
      ],
    })
  })

  it("takes max_tokens from the request first, then the provider option", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") }, { kind: "json", body: jsonFixture("message-text.json") })
    const model = modelFor(server, { maxOutputTokens: 1000 })
    await model.generate({ messages: [{ role: "user", content: "a" }] }, { signal: openSignal() })
    await model.generate({ messages: [{ role: "user", content: "b" }], maxOutputTokens: 50 }, { signal: openSignal() })
    expect(server.requests.map((request) => (request.body as { max_tokens: number }).max_tokens)).toEqual([1000, 50])
  })

  it("leaves thinking and redacted thinking out of the text", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-thinking.json") })
    const response = await modelFor(server).generate({ messages: [{ role: "user", content: "Classify" }] }, { signal: openSignal() })
    expect(response.text).toBe("refund")
    expect(response.usage).toEqual({ inputTokens: 40, outputTokens: 31 })
  })
})

describe("anthropic: streaming", () => {
  it("reports text deltas in order, skips pings, and resolves with the whole answer and usage", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("stream-text.sse") })
    const deltas: string[] = []
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Where is my refund?" }] },
      { signal: openSignal(), onDelta: (text) => deltas.push(text) },
    )
    expect(deltas).toEqual(["Your ", "refund ", "is on ", "its way."])
    expect(response).toEqual({
      text: "Your refund is on its way.",
      finishReason: "stop",
      usage: { inputTokens: 25 + 800, outputTokens: 12, cachedInputTokens: 800 },
    })
    expect(sentBody(server)).toMatchObject({ stream: true, max_tokens: 4096 })
  })

  it("streams past thinking blocks: only the answer's text is reported", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("stream-thinking.sse") })
    const deltas: string[] = []
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Classify" }] },
      { signal: openSignal(), onDelta: (text) => deltas.push(text) },
    )
    expect(deltas).toEqual(["ref", "und"])
    expect(response.text).toBe("refund")
  })

  it("does not stream without onDelta", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal() })
    expect(sentBody(server)).not.toHaveProperty("stream")
  })
})

describe("anthropic: API key", () => {
  const saved = process.env["ANTHROPIC_API_KEY"]
  afterEach(() => {
    if (saved === undefined) delete process.env["ANTHROPIC_API_KEY"]
    else process.env["ANTHROPIC_API_KEY"] = saved
  })

  it("reads ANTHROPIC_API_KEY when generate runs, not when the model is made", async () => {
    delete process.env["ANTHROPIC_API_KEY"]
    const model = anthropic({ model: "claude-sonnet-5", baseURL: server.url })
    process.env["ANTHROPIC_API_KEY"] = "sk-ant-from-environment-1234"
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await model.generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal() })
    expect(server.requests[0]?.headers.authorization).toBe("Bearer sk-ant-from-environment-1234")
  })

  it("without a key fails with a non-retryable authentication error naming the variable, and sends nothing", async () => {
    delete process.env["ANTHROPIC_API_KEY"]
    const error = await rejectionOf(
      anthropic({ model: "claude-sonnet-5", baseURL: server.url }).generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal() }),
    )
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ provider: "anthropic", reason: "authentication", retryable: false })
    expect((error as ModelError).message).toContain("ANTHROPIC_API_KEY")
    expect(server.requests).toHaveLength(0)
  })
})
