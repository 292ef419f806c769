import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { ModelError, type ModelRequest, openaiCompatible } from "../../../src/index.ts"
import { type FakeServer, sse, startFakeServer } from "../fake-server.ts"
import { jsonFixture, openSignal, rejectionOf, sentBody, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await server.close()
})

const ask: ModelRequest = {
  messages: [
    { role: "system", content: "You classify tickets." },
    { role: "user", content: "My card was charged twice" },
  ],
}
const jsonSchema = z.toJSONSchema(z.object({ kind: z.enum(["refund", "bug"]) })) as Record<string, unknown>
const local = (options: Partial<Parameters<typeof openaiCompatible>[0]> = {}) =>
  openaiCompatible({ baseURL: `${server.url}/v1`, model: "llama3.2", ...options })

describe("openaiCompatible", () => {
  it("talks Chat Completions under its own provider name and sends a placeholder key when none is given", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") })
    const model = local({ provider: "ollama" })
    expect(model).toMatchObject({ provider: "ollama", model: "llama3.2" })
    const response = await model.generate({ ...ask, maxOutputTokens: 200 }, { signal: openSignal() })
    expect(response.text).toBe("Your refund is on its way.")
    expect(server.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions" })
    expect(server.requests[0]?.headers.authorization).toBe("Bearer switchboard-no-key")
    // Compatible servers know max_tokens; OpenAI's newer field is not assumed.
    expect(sentBody(server)).toEqual({ model: "llama3.2", messages: ask.messages, max_tokens: 200 })
  })

  it("never sends OPENAI_API_KEY, OPENAI_ORG_ID or OPENAI_PROJECT_ID to a third-party server", async () => {
    vi.stubEnv("OPENAI_API_KEY", "sk-openai-REALKEY123456")
    vi.stubEnv("OPENAI_ORG_ID", "org-private")
    vi.stubEnv("OPENAI_PROJECT_ID", "proj-private")
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") }, { kind: "json", body: jsonFixture("chat-text.json") })
    await local().generate(ask, { signal: openSignal() })
    await local({ apiKey: "gsk_groq_KEY_abcdef123456" }).generate(ask, { signal: openSignal() })
    const [first, second] = server.requests
    expect(first?.headers.authorization).toBe("Bearer switchboard-no-key")
    expect(second?.headers.authorization).toBe("Bearer gsk_groq_KEY_abcdef123456")
    for (const request of server.requests) {
      expect(request.headers["openai-organization"]).toBeUndefined()
      expect(request.headers["openai-project"]).toBeUndefined()
    }
  })

  it("names its provider in errors and masks its key even when the key is not OpenAI-shaped", async () => {
    const apiKey = "gsk_groq_KEY_abcdef123456"
    server.reply({
      kind: "json",
      status: 401,
      body: { error: { message: `Invalid API Key: ${apiKey}`, type: "invalid_request_error", code: "invalid_api_key" } },
    })
    const error = await rejectionOf(local({ apiKey, provider: "groq" }).generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ provider: "groq", model: "llama3.2", reason: "authentication", retryable: false })
    expect(JSON.stringify(error)).not.toContain("abcdef123456")
  })

  it("maps a context overflow reported only in words (vLLM) to context-too-long", async () => {
    const message = "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens."
    server.reply({ kind: "json", status: 400, body: { object: "error", message, type: "BadRequestError", param: null, code: 400 } })
    const error = await rejectionOf(local().generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ reason: "context-too-long", retryable: false, status: 400 })
  })

  it("maps a mid-stream error chunk with an HTTP status as its code (OpenRouter) by that status", async () => {
    const chunks = sseFixture("chat-text.sse").slice(0, 2)
    server.reply({ kind: "sse", chunks: [...chunks, sse({ error: { code: 502, message: "Upstream provider error" } })] })
    const error = await rejectionOf(local().generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ reason: "server", retryable: true, status: 502 })
  })

  it("structured output defaults to json_schema without the strict flag", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-structured.json") })
    await local().generate({ ...ask, output: { name: "classify", jsonSchema } }, { signal: openSignal() })
    const { $schema: _draft, ...schema } = jsonSchema
    expect(sentBody(server)["response_format"]).toEqual({ type: "json_schema", json_schema: { name: "classify", schema } })
    expect(sentBody(server)["messages"]).toEqual(ask.messages)
  })

  it("json_object mode asks for JSON mode and puts the schema into the system message", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-structured.json") })
    const response = await local({ structuredOutput: "json_object" }).generate({ ...ask, output: { name: "classify", jsonSchema } }, { signal: openSignal() })
    expect(response.text).toBe('{"kind":"refund","confidence":0.92}')
    const body = sentBody(server)
    expect(body["response_format"]).toEqual({ type: "json_object" })
    const messages = body["messages"] as Array<{ role: string; content: string }>
    expect(messages).toHaveLength(2)
    expect(messages[0]?.role).toBe("system")
    expect(messages[0]?.content).toMatch(/^You classify tickets\.\n\nAnswer with a single JSON object/)
    expect(messages[0]?.content).toContain('"enum":["refund","bug"]')
  })

  it("none mode sends no response_format and adds a system message with the schema when there is none", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-structured.json") })
    await local({ structuredOutput: "none" }).generate(
      { messages: [{ role: "user", content: "Classify" }], output: { name: "classify", jsonSchema } },
      { signal: openSignal() },
    )
    const body = sentBody(server)
    expect(body["response_format"]).toBeUndefined()
    expect(body["messages"]).toEqual([
      { role: "system", content: expect.stringContaining("matches this JSON Schema") },
      { role: "user", content: "Classify" },
    ])
  })

  it("sends tools without the strict flag", async () => {
    server.reply({ kind: "json", body: jsonFixture("chat-tool-parallel.json") })
    const inputSchema = { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"], additionalProperties: false }
    const response = await local().generate({ ...ask, tools: [{ name: "lookupOrder", inputSchema }] }, { signal: openSignal() })
    expect(sentBody(server)["tools"]).toEqual([{ type: "function", function: { name: "lookupOrder", parameters: inputSchema } }])
    expect(response.toolCalls).toHaveLength(2)
  })

  it("streams deltas and reads usage from the final chunk", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("chat-text.sse") })
    const deltas: string[] = []
    const response = await local().generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas.join("")).toBe("Your refund is on its way.")
    expect(response.usage).toEqual({ inputTokens: 1312, outputTokens: 9, cachedInputTokens: 1024 })
  })
})
