import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { type GenerateOptions, ModelError, type ModelErrorReason } from "../../../src/index.ts"
import { type FakeServer, type Reply, sse, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, rejectionOf, secretKey, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const ask = { messages: [{ role: "user" as const, content: "Where is my refund?" }] }
const streaming = (extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ signal: openSignal(), onDelta: () => {}, ...extra })
const errorReply = (status: number, fixture: string, headers: Record<string, string> = {}): Reply => ({
  kind: "json",
  status,
  headers,
  body: jsonFixture(fixture),
})
const textStart = sseFixture("stream-text.sse").slice(0, 3)

interface Scenario {
  readonly name: string
  readonly reply: Reply
  readonly options?: Partial<GenerateOptions>
  readonly stream?: boolean
  readonly expected: { readonly reason: ModelErrorReason; readonly retryable: boolean; readonly status?: number; readonly retryAfterMs?: number }
}

const scenarios: Scenario[] = [
  {
    name: "429 with retry-after (seconds)",
    reply: errorReply(429, "error-rate-limit.json", { "retry-after": "2" }),
    expected: { reason: "rate-limited", retryable: true, status: 429, retryAfterMs: 2000 },
  },
  {
    name: "429 with retry-after-ms",
    reply: errorReply(429, "error-rate-limit.json", { "retry-after-ms": "1500", "retry-after": "9" }),
    expected: { reason: "rate-limited", retryable: true, status: 429, retryAfterMs: 1500 },
  },
  { name: "500 api_error", reply: errorReply(500, "error-api.json"), expected: { reason: "server", retryable: true, status: 500 } },
  { name: "529 overloaded_error", reply: errorReply(529, "error-overloaded.json"), expected: { reason: "overloaded", retryable: true, status: 529 } },
  {
    name: "503 service unavailable",
    reply: { kind: "raw", status: 503, body: "upstream unavailable" },
    expected: { reason: "overloaded", retryable: true, status: 503 },
  },
  { name: "503 with an api_error body", reply: errorReply(503, "error-api.json"), expected: { reason: "overloaded", retryable: true, status: 503 } },
  {
    name: "overloaded error event mid-stream",
    reply: { kind: "sse", chunks: sseFixture("stream-overloaded.sse") },
    stream: true,
    expected: { reason: "overloaded", retryable: true },
  },
  {
    name: "401 authentication_error",
    reply: errorReply(401, "error-authentication.json"),
    expected: { reason: "authentication", retryable: false, status: 401 },
  },
  { name: "403 permission_error", reply: errorReply(403, "error-permission.json"), expected: { reason: "authentication", retryable: false, status: 403 } },
  {
    name: "400 prompt is too long",
    reply: errorReply(400, "error-prompt-too-long.json"),
    expected: { reason: "context-too-long", retryable: false, status: 400 },
  },
  {
    name: "413 request_too_large",
    reply: errorReply(413, "error-request-too-large.json"),
    expected: { reason: "context-too-long", retryable: false, status: 413 },
  },
  {
    name: "400 other invalid_request_error",
    reply: errorReply(400, "error-invalid-request.json"),
    expected: { reason: "invalid-request", retryable: false, status: 400 },
  },
  { name: "refusal", reply: { kind: "json", body: jsonFixture("message-refusal.json") }, expected: { reason: "content-filter", retryable: false } },
  {
    name: "refusal while streaming",
    reply: {
      kind: "sse",
      chunks: [
        ...textStart,
        sse({ type: "message_delta", delta: { stop_reason: "refusal" }, usage: { output_tokens: 3 } }, "message_delta"),
        sse({ type: "message_stop" }, "message_stop"),
      ],
    },
    stream: true,
    expected: { reason: "content-filter", retryable: false },
  },
  // The provider sent a broken body after a 200: its fault, and a retry usually gets a whole one.
  {
    name: "truncated JSON body",
    reply: { kind: "raw", body: '{"id":"msg_01","type":"message","content":[{"type":"te' },
    expected: { reason: "server", retryable: true },
  },
  {
    name: "malformed JSON in a stream event",
    reply: { kind: "sse", chunks: [...textStart, "event: content_block_delta\ndata: {not json\n\n"] },
    stream: true,
    expected: { reason: "server", retryable: true },
  },
  // The step asked for an answer and got none: the same retryable reason as an unusable answer.
  { name: "empty content", reply: { kind: "json", body: jsonFixture("message-empty.json") }, expected: { reason: "invalid-output", retryable: true } },
  {
    name: "connection reset mid-stream",
    reply: { kind: "sse", chunks: [...textStart, { pauseMs: 20 }], end: "reset" },
    stream: true,
    expected: { reason: "network", retryable: true },
  },
  {
    name: "stream closed before message_stop",
    reply: { kind: "sse", chunks: textStart, end: "close" },
    stream: true,
    expected: { reason: "network", retryable: true },
  },
  { name: "connection reset before any answer", reply: { kind: "reset" }, expected: { reason: "network", retryable: true } },
]

describe("anthropic: every failure is a typed ModelError", () => {
  it.each(scenarios)("$name → $expected.reason", async ({ reply, options, stream, expected }) => {
    server.reply(reply)
    const error = await rejectionOf(modelFor(server).generate(ask, stream === true ? streaming(options) : { signal: openSignal(), ...options }))
    expect(error).toBeInstanceOf(ModelError)
    const { reason, retryable, status, retryAfterMs } = error as ModelError
    expect({ reason, retryable, status, retryAfterMs }).toEqual({ status: undefined, retryAfterMs: undefined, ...expected })
    expect(error).toMatchObject({ provider: "anthropic", model: "claude-sonnet-5" })
  })

  it("never puts the API key in an error, even when the server echoes it", async () => {
    const echoed = { type: "error", error: { type: "authentication_error", message: `invalid x-api-key ${secretKey} (authorization: Bearer ${secretKey})` } }
    const errors: unknown[] = []
    for (const reply of [...scenarios.map((scenario) => scenario.reply), { kind: "json", status: 401, body: echoed } as const]) {
      server.reply(reply)
      errors.push(await rejectionOf(modelFor(server).generate(ask, streaming())))
    }
    expect(errors).toHaveLength(scenarios.length + 1)
    for (const error of errors) {
      expect(error).toBeInstanceOf(ModelError)
      expect(`${(error as ModelError).message} ${JSON.stringify(error)}`).not.toContain("SECRET123456")
    }
    expect((errors.at(-1) as ModelError).message).toContain("invalid x-api-key")
  })

  it("a refused connection is a retryable network error", async () => {
    const url = server.url
    await server.close()
    server = await startFakeServer()
    const error = await rejectionOf(modelFor(server, { baseURL: url }).generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "network", retryable: true })
  })

  it("timeoutMs bounds the wait for a response: timeout, retryable", async () => {
    server.reply({ kind: "hang" })
    const error = await rejectionOf(modelFor(server, { timeoutMs: 50 }).generate(ask, { signal: openSignal() }))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
  })
})

describe("anthropic: stream timeouts close the request", () => {
  it("slow first byte with firstTokenTimeoutMs → timeout, and the request is closed", async () => {
    server.reply({ kind: "json", delayMs: 2000, body: jsonFixture("message-text.json") })
    const started = Date.now()
    const error = await rejectionOf(modelFor(server).generate(ask, streaming({ firstTokenTimeoutMs: 50 })))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    expect(Date.now() - started).toBeLessThan(1000)
    await expect.poll(() => server.requests[0]?.closedEarly).toBe(true)
  })

  it("headers sent but no event before firstTokenTimeoutMs → timeout", async () => {
    server.reply({ kind: "sse", chunks: [{ pauseMs: 2000 }, ...sseFixture("stream-text.sse")] })
    const error = await rejectionOf(modelFor(server).generate(ask, streaming({ firstTokenTimeoutMs: 50 })))
    expect(error).toMatchObject({ reason: "timeout" })
    await expect.poll(() => server.requests[0]?.closedEarly).toBe(true)
  })

  it("a stream that stalls longer than idleTimeoutMs → timeout, after the deltas that did arrive", async () => {
    server.reply({ kind: "sse", chunks: [...sseFixture("stream-text.sse").slice(0, 4), { pauseMs: 2000 }], end: "hang" })
    const deltas: string[] = []
    const error = await rejectionOf(modelFor(server).generate(ask, streaming({ idleTimeoutMs: 50, onDelta: (text) => deltas.push(text) })))
    expect(error).toMatchObject({ _tag: "ModelError", reason: "timeout", retryable: true })
    expect((error as ModelError).message).toContain("50ms")
    expect(deltas).toEqual(["Your "])
    await expect.poll(() => server.requests[0]?.closedEarly).toBe(true)
  })

  it("a slow but steady stream stays within idleTimeoutMs and completes", async () => {
    const chunks = sseFixture("stream-text.sse").flatMap((chunk) => [chunk, { pauseMs: 10 }])
    server.reply({ kind: "sse", chunks })
    const response = await modelFor(server).generate(ask, streaming({ firstTokenTimeoutMs: 500, idleTimeoutMs: 500 }))
    expect(response.text).toBe("Your refund is on its way.")
  })
})

describe("anthropic: aborts", () => {
  it("an abort while waiting closes the request and rejects with the signal's reason", async () => {
    server.reply({ kind: "hang" })
    const controller = new AbortController()
    const reason = new Error("step left")
    setTimeout(() => controller.abort(reason), 30)
    const error = await rejectionOf(modelFor(server).generate(ask, { signal: controller.signal }))
    expect(error).toBe(reason)
    await expect.poll(() => server.requests[0]?.closedEarly).toBe(true)
  })

  it("an abort mid-stream closes the request and rejects with the signal's reason (not a partial answer)", async () => {
    server.reply({ kind: "sse", chunks: [...textStart, { pauseMs: 2000 }], end: "hang" })
    const controller = new AbortController()
    const reason = new Error("run cancelled")
    const error = await rejectionOf(modelFor(server).generate(ask, { signal: controller.signal, onDelta: () => controller.abort(reason) }))
    expect(error).toBe(reason)
    await expect.poll(() => server.requests[0]?.closedEarly).toBe(true)
  })

  it("an already aborted signal sends nothing", async () => {
    const reason = new Error("too late")
    const error = await rejectionOf(modelFor(server).generate(ask, { signal: AbortSignal.abort(reason) }))
    expect(error).toBe(reason)
    expect(server.requests).toHaveLength(0)
  })
})
