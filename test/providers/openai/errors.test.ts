import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { ModelError, type ModelRequest, openai } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { eventually, jsonFixture, modelFor, openSignal, rejectionOf, secretKey, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  vi.unstubAllEnvs()
  await server.close()
})

const ask: ModelRequest = { messages: [{ role: "user", content: "Where is my refund?" }] }

describe.each(["responses", "chat"] as const)("openai %s: HTTP errors", (api) => {
  const fails = async (reply: Parameters<FakeServer["reply"]>[0]) => {
    server.reply(reply)
    const error = await rejectionOf(modelFor(server, api).generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(server.requests).toHaveLength(1)
    return error as ModelError
  }

  it("429 with retry-after → rate-limited, retryable, retryAfterMs from the header", async () => {
    const error = await fails({ kind: "json", status: 429, headers: { "retry-after": "2" }, body: jsonFixture("error-rate-limit.json") })
    expect(error).toMatchObject({ provider: "openai", model: "gpt-5-mini", reason: "rate-limited", retryable: true, status: 429, retryAfterMs: 2000 })
  })

  it("429 with retry-after-ms → the milliseconds win", async () => {
    const error = await fails({
      kind: "json",
      status: 429,
      headers: { "retry-after-ms": "120", "retry-after": "1" },
      body: jsonFixture("error-rate-limit.json"),
    })
    expect(error).toMatchObject({ reason: "rate-limited", retryAfterMs: 120 })
  })

  it("429 insufficient_quota → authentication, not retryable (a billing problem no retry fixes)", async () => {
    const error = await fails({ kind: "json", status: 429, body: jsonFixture("error-insufficient-quota.json") })
    expect(error).toMatchObject({ reason: "authentication", retryable: false, status: 429 })
  })

  it("500 → server, retryable", async () => {
    const error = await fails({ kind: "json", status: 500, body: jsonFixture("error-server.json") })
    expect(error).toMatchObject({ reason: "server", retryable: true, status: 500 })
  })

  it("503 → overloaded, retryable, with its retry-after", async () => {
    const error = await fails({ kind: "json", status: 503, headers: { "retry-after": "1" }, body: jsonFixture("error-overloaded.json") })
    expect(error).toMatchObject({ reason: "overloaded", retryable: true, status: 503, retryAfterMs: 1000 })
  })

  it("401 → authentication, not retryable, and the key never appears in the error", async () => {
    const echoed = { error: { message: `Incorrect API key provided: ${secretKey}.`, type: "invalid_request_error", param: null, code: "invalid_api_key" } }
    const error = await fails({ kind: "json", status: 401, body: echoed })
    expect(error).toMatchObject({ reason: "authentication", retryable: false, status: 401 })
    expect(JSON.stringify(error)).not.toContain("SECRET123456")
    expect(error.message).not.toContain("SECRET123456")
    expect(String(error)).not.toContain("SECRET123456")
  })

  it("400 context_length_exceeded → context-too-long, not retryable", async () => {
    const error = await fails({ kind: "json", status: 400, body: jsonFixture("error-context-length.json") })
    expect(error).toMatchObject({ reason: "context-too-long", retryable: false, status: 400 })
  })

  it("400 other → invalid-request, not retryable, with the server's message", async () => {
    const error = await fails({ kind: "json", status: 400, body: jsonFixture("error-invalid-request.json") })
    expect(error).toMatchObject({ reason: "invalid-request", retryable: false, status: 400 })
    expect(error.message).toContain("'temperature' is not supported")
  })

  it("a truncated JSON body → server, retryable (the server broke the protocol; the model said nothing wrong)", async () => {
    const error = await fails({ kind: "raw", body: '{"id":"resp_1","output":[{"type":"mess' })
    expect(error).toMatchObject({ reason: "server", retryable: true })
  })

  it("a non-JSON body → server", async () => {
    const error = await fails({ kind: "raw", headers: { "content-type": "text/html" }, body: "<html>Bad gateway</html>" })
    expect(error).toMatchObject({ reason: "server", retryable: true })
  })

  it("a connection reset before any answer → network, retryable", async () => {
    const error = await fails({ kind: "reset" })
    expect(error).toMatchObject({ reason: "network", retryable: true })
  })

  it("no response headers within timeoutMs → timeout, and the request is closed", async () => {
    server.reply({ kind: "hang" })
    const error = await rejectionOf(modelFor(server, api, { timeoutMs: 50 }).generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    await eventually(() => server.requests[0]?.closedEarly === true)
  })
})

describe.each(["responses", "chat"] as const)("openai %s: streams", (api) => {
  const streamed = sseFixture(api === "chat" ? "chat-text.sse" : "responses-text.sse")

  it("a slow first chunk with firstTokenTimeoutMs → timeout, and the request is closed", async () => {
    server.reply({ kind: "sse", chunks: [{ pauseMs: 1000 }, ...streamed] })
    const started = Date.now()
    const error = await rejectionOf(modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: () => {}, firstTokenTimeoutMs: 40 }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    expect((error as ModelError).message).toContain("first-token")
    expect(Date.now() - started).toBeLessThan(900)
    await eventually(() => server.requests[0]?.closedEarly === true)
  })

  it("no response headers at all with firstTokenTimeoutMs → timeout too", async () => {
    server.reply({ kind: "hang" })
    const error = await rejectionOf(modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: () => {}, firstTokenTimeoutMs: 40 }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout" })
    await eventually(() => server.requests[0]?.closedEarly === true)
  })

  it("a stream that stalls mid-answer with idleTimeoutMs → timeout after the deltas so far, and the request is closed", async () => {
    server.reply({ kind: "sse", chunks: [...streamed.slice(0, 4), { pauseMs: 1000 }, ...streamed.slice(4)] })
    const deltas: string[] = []
    const error = await rejectionOf(modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text), idleTimeoutMs: 40 }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    expect((error as ModelError).message).toContain("stalled")
    await eventually(() => server.requests[0]?.closedEarly === true)
  })

  it("a chunk within the idle timeout keeps the stream alive", async () => {
    server.reply({ kind: "sse", chunks: streamed.flatMap((chunk) => [{ pauseMs: 5 }, chunk]) })
    const response = await modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: () => {}, firstTokenTimeoutMs: 500, idleTimeoutMs: 500 })
    expect(response.text).toBe("Your refund is on its way.")
  })

  it("a connection reset mid-stream → network, retryable", async () => {
    server.reply({ kind: "sse", chunks: streamed.slice(0, 4), end: "reset" })
    const error = await rejectionOf(modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: () => {} }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "network", retryable: true })
  })

  it("an abort through the signal closes the streaming request and rejects with the signal's reason", async () => {
    const firstDelta = streamed.findIndex((chunk) => chunk.includes('"Your"'))
    server.reply({ kind: "sse", chunks: streamed.slice(0, firstDelta + 1), end: "hang" })
    const controller = new AbortController()
    const reason = new Error("step left")
    const deltas: string[] = []
    const pending = modelFor(server, api).generate(ask, {
      signal: controller.signal,
      onDelta: (text) => {
        deltas.push(text)
        controller.abort(reason)
      },
    })
    expect(await rejectionOf(pending)).toBe(reason)
    expect(deltas).toEqual(["Your"])
    await eventually(() => server.requests[0]?.closedEarly === true)
  })
})

describe("openai: aborts, keys and connections", () => {
  it("an abort closes a waiting non-streamed request and rejects with the signal's reason", async () => {
    server.reply({ kind: "hang" })
    const controller = new AbortController()
    const pending = modelFor(server, "responses").generate(ask, { signal: controller.signal })
    await eventually(() => server.requests.length === 1)
    controller.abort("cancelled by test")
    expect(await rejectionOf(pending)).toBe("cancelled by test")
    await eventually(() => server.requests[0]?.closedEarly === true)
  })

  it("an already aborted signal sends nothing", async () => {
    const error = await rejectionOf(modelFor(server, "chat").generate(ask, { signal: AbortSignal.abort("too late") }))
    expect(error).toBe("too late")
    expect(server.requests).toHaveLength(0)
  })

  it("without apiKey and OPENAI_API_KEY → authentication, not retryable, naming the variable; nothing is sent", async () => {
    vi.stubEnv("OPENAI_API_KEY", "")
    const error = await rejectionOf(openai({ model: "gpt-5-mini", baseURL: `${server.url}/v1` }).generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ provider: "openai", reason: "authentication", retryable: false })
    expect((error as ModelError).message).toContain("OPENAI_API_KEY")
    expect(server.requests).toHaveLength(0)
  })

  it("reads OPENAI_API_KEY and OPENAI_BASE_URL at call time, not when the model is made", async () => {
    vi.stubEnv("OPENAI_API_KEY", "")
    const model = openai({ model: "gpt-5-mini", api: "chat" })
    vi.stubEnv("OPENAI_API_KEY", secretKey)
    vi.stubEnv("OPENAI_BASE_URL", `${server.url}/v1`)
    server.reply({ kind: "json", body: jsonFixture("chat-text.json") })
    await model.generate(ask, { signal: openSignal() })
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${secretKey}`)
  })

  it("a refused connection → network, retryable", async () => {
    const closed = await startFakeServer()
    const baseURL = `${closed.url}/v1`
    await closed.close()
    const error = await rejectionOf(openai({ model: "gpt-5-mini", apiKey: secretKey, baseURL }).generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "network", retryable: true })
  })
})
