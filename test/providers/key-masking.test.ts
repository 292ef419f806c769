// Every provider masks its own key by value, whatever its shape: a gateway key that is not `sk-…`,
// echoed back in a 401 body, a stream's error event or an answer, never leaves the provider.
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { anthropic, type Model, ModelError, openai, openaiCompatible, openaiEmbeddings, redactSecrets } from "../../src/index.ts"
import { keyMasking } from "../../src/providers/shared.ts"
import { type FakeServer, sse, startFakeServer } from "./fake-server.ts"
import { fixturesOf, openSignal, rejectionOf } from "./fixtures.ts"

// Shaped like no known vendor key, so only masking by value can hide it.
const gatewayKey = "gwk_live_7Hq2Ls9Vb4NcXe"
const echo = `Key ${gatewayKey} is not valid for this gateway`
const ask = { messages: [{ role: "user" as const, content: "Where is my refund?" }] }
const anthropicFixtures = fixturesOf("anthropic")
const openaiFixtures = fixturesOf("openai")

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const claude = (): Model => anthropic({ model: "claude-sonnet-5", apiKey: gatewayKey, baseURL: server.url })
const anthropicError = (message: string) => ({ type: "error", error: { type: "authentication_error", message }, request_id: "req_01Auth" })

const expectMasked = (value: unknown) => {
  const text = JSON.stringify(value, Object.getOwnPropertyNames(value ?? {}))
  expect(text).not.toContain(gatewayKey)
  expect(text).toContain("***")
}

describe("the test's key", () => {
  it("is not masked by its shape: only masking by value hides it", () => {
    expect(redactSecrets(echo)).toContain(gatewayKey)
  })
})

describe("anthropic masks its own key", () => {
  it("in the error of a 401 whose body echoes the key", async () => {
    server.reply({ kind: "json", status: 401, body: anthropicError(echo) })
    const error = await rejectionOf(claude().generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ reason: "authentication", status: 401, retryable: false })
    expect((error as ModelError).message).toBe("Anthropic API 401 authentication_error: Key *** is not valid for this gateway")
    expectMasked(error)
    // the key did go out, so the server could echo it
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${gatewayKey}`)
  })

  it("in a streamed call's 401 and in a stream's error event", async () => {
    server.reply(
      { kind: "json", status: 401, body: anthropicError(echo) },
      { kind: "sse", chunks: [...anthropicFixtures.sseFixture("stream-text.sse").slice(0, 3), sse(anthropicError(echo), "error")] },
    )
    const first = await rejectionOf(claude().generate(ask, { signal: openSignal(), onDelta: () => {} }))
    const second = await rejectionOf(claude().generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(first).toMatchObject({ reason: "authentication", status: 401 })
    expect(second).toMatchObject({ reason: "authentication" })
    expectMasked(first)
    expectMasked(second)
  })

  it("in an answer's text and its streamed deltas", async () => {
    const message = anthropicFixtures.jsonFixture("message-text.json") as { content: Array<{ text: string }> }
    message.content = [{ type: "text", text: `Your key is ${gatewayKey}.` } as never]
    const chunks = [
      sse(
        { type: "message_start", message: { id: "m", type: "message", role: "assistant", content: [], usage: { input_tokens: 1, output_tokens: 1 } } },
        "message_start",
      ),
      sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
      sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: `key ${gatewayKey}` } }, "content_block_delta"),
      sse({ type: "content_block_stop", index: 0 }, "content_block_stop"),
      sse({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } }, "message_delta"),
      sse({ type: "message_stop" }, "message_stop"),
    ]
    server.reply({ kind: "json", body: message }, { kind: "sse", chunks })
    const answer = await claude().generate(ask, { signal: openSignal() })
    expect(answer.text).toBe("Your key is ***.")
    const deltas: string[] = []
    const streamed = await claude().generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(streamed.text).toBe("key ***")
    expect(deltas.join("")).toBe("key ***")
  })
})

describe("the OpenAI providers mask their own key", () => {
  const openaiError = (message: string) => ({ error: { message, type: "invalid_request_error", param: null, code: "invalid_api_key" } })

  it("openai() and openaiCompatible() in a 401 body and in an answer", async () => {
    const chat = openaiFixtures.jsonFixture("chat-text.json") as { choices: Array<{ message: { content: string } }> }
    ;(chat.choices[0] as { message: { content: string } }).message.content = `echo ${gatewayKey}`
    server.reply({ kind: "json", status: 401, body: openaiError(echo) }, { kind: "json", status: 401, body: openaiError(echo) }, { kind: "json", body: chat })
    const official = openai({ model: "gpt-5-mini", apiKey: gatewayKey, baseURL: `${server.url}/v1`, api: "responses" })
    const compatible = openaiCompatible({ model: "llama3.2", apiKey: gatewayKey, baseURL: `${server.url}/v1` })
    const errors = [await rejectionOf(official.generate(ask, { signal: openSignal() })), await rejectionOf(compatible.generate(ask, { signal: openSignal() }))]
    for (const error of errors) {
      expect(error).toMatchObject({ reason: "authentication", status: 401 })
      expectMasked(error)
    }
    expect((await compatible.generate(ask, { signal: openSignal() })).text).toBe("echo ***")
  })

  it("openaiEmbeddings() in a 401 body", async () => {
    server.reply({ kind: "json", status: 401, body: openaiError(echo) })
    const embedder = openaiEmbeddings({ model: "text-embedding-3-small", apiKey: gatewayKey, baseURL: `${server.url}/v1` })
    const error = await rejectionOf(embedder.embed(["hello"], { signal: openSignal() }))
    expect(error).toMatchObject({ reason: "authentication", status: 401 })
    expectMasked(error)
  })
})

describe("keyMasking", () => {
  it("copies an error only when it holds the key, keeping its fields", () => {
    const masking = keyMasking([gatewayKey, "short"])
    const clean = new ModelError({ provider: "p", model: "m", reason: "server", retryable: true, message: "boom short" })
    expect(masking.error(clean)).toBe(clean)
    const leaky = new ModelError({
      provider: "p",
      model: "m",
      reason: "invalid-output",
      retryable: true,
      status: 400,
      message: echo,
      rawText: `raw ${gatewayKey}`,
    })
    const masked = masking.error(leaky)
    expect(masked).toBeInstanceOf(ModelError)
    expect(masked).toMatchObject({ provider: "p", model: "m", reason: "invalid-output", retryable: true, status: 400, rawText: "raw ***" })
    expect(masked.message).toBe("Key *** is not valid for this gateway")
  })
})
