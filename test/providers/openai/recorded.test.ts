// Replays payloads recorded from the real OpenAI APIs (third-party data kept outside the repository,
// see ../shared/provider-fixtures/SOURCES.md) through the provider, when that folder exists.
import { existsSync, readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { ModelRequest, ModelResponse } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { modelFor, openSignal, rejectionOf, sseEvents } from "./helpers.ts"

const folder = new URL("../../../../shared/provider-fixtures/openai/", import.meta.url)
const available = existsSync(folder)
const recorded = (name: string) => readFileSync(new URL(name, folder), "utf8")

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const ask: ModelRequest = { messages: [{ role: "user", content: "Hello" }] }

const whole = (api: "chat" | "responses", name: string, status = 200) => {
  server.reply({ kind: "json", status, body: JSON.parse(recorded(name)) })
  return modelFor(server, api).generate(ask, { signal: openSignal() })
}

const streamed = async (api: "chat" | "responses", name: string): Promise<{ response: ModelResponse; deltas: string[] }> => {
  server.reply({ kind: "sse", chunks: sseEvents(recorded(name)) })
  const deltas: string[] = []
  const response = await modelFor(server, api).generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
  return { response, deltas }
}

describe.skipIf(!available)("openai: recorded payloads (../shared/provider-fixtures/openai)", () => {
  it("chat text, whole and streamed (with obfuscation fields and a usage-only last chunk)", async () => {
    expect(await whole("chat", "chat-text.json")).toMatchObject({
      text: expect.stringMatching(/\w/),
      finishReason: "stop",
      usage: { inputTokens: expect.any(Number), cachedInputTokens: 0 },
    })
    const { response, deltas } = await streamed("chat", "chat-text-long.sse")
    expect(deltas.length).toBeGreaterThan(10)
    expect(response).toMatchObject({ text: deltas.join(""), finishReason: "stop", usage: { inputTokens: 16, outputTokens: 300 } })
  })

  it("chat: a tool call and parallel tool calls stream to what the whole bodies say (same calls and usage; the ids differ)", async () => {
    const withoutIds = (response: ModelResponse) => ({ ...response, toolCalls: response.toolCalls?.map(({ name, arguments: args }) => ({ name, args })) })
    for (const name of ["chat-tool", "chat-parallel-tools"]) {
      const complete = await whole("chat", `${name}.json`)
      const { response } = await streamed("chat", `${name}.sse`)
      expect({ name, ...withoutIds(response) }).toEqual({ name, ...withoutIds(complete) })
    }
    const parallel = await whole("chat", "chat-parallel-tools.json")
    expect(parallel).toMatchObject({ finishReason: "tool-calls" })
    expect(parallel.toolCalls).toHaveLength(2)
    for (const call of parallel.toolCalls ?? []) expect(call.arguments).toBeTypeOf("object")
  })

  it("chat: short text and structured output, whole and streamed", async () => {
    expect((await whole("chat", "chat-text-short.json")).text).toMatch(/weather/)
    expect(JSON.parse((await whole("chat", "chat-structured.json")).text)).toBeTypeOf("object")
    for (const name of ["chat-text-short.sse", "chat-structured.sse"]) {
      const { response, deltas } = await streamed("chat", name)
      expect(response).toMatchObject({ text: deltas.join(""), finishReason: "stop", usage: { inputTokens: expect.any(Number) } })
    }
    expect(JSON.parse((await streamed("chat", "chat-structured.sse")).response.text)).toBeTypeOf("object")
  })

  it("chat: a streamed refusal is content-filter, a length stop is `length`, only the first of n choices counts", async () => {
    server.reply({ kind: "sse", chunks: sseEvents(recorded("chat-refusal.sse")) })
    expect(await rejectionOf(modelFor(server, "chat").generate(ask, { signal: openSignal(), onDelta: () => {} }))).toMatchObject({ reason: "content-filter" })
    expect((await streamed("chat", "chat-length.sse")).response.finishReason).toBe("length")
    const { response } = await streamed("chat", "chat-multi-choice.sse")
    const firstChoice = sseEvents(recorded("chat-multi-choice.sse"))
      .flatMap((event) =>
        event.startsWith("data: {") ? [JSON.parse(event.slice(6)) as { choices: Array<{ index: number; delta: { content?: string } }> }] : [],
      )
      .flatMap((chunk) => chunk.choices.filter((choice) => choice.index === 0).map((choice) => choice.delta.content ?? ""))
      .join("")
    expect(response.text).toBe(firstChoice)
  })

  it("responses: text whole and streamed, reasoning items skipped, function calls whole and streamed", async () => {
    const text = await whole("responses", "responses-text.json")
    expect(text).toMatchObject({ finishReason: "stop", usage: { inputTokens: 7243, outputTokens: 423, cachedInputTokens: 3072 } })
    expect(text.text).toContain("latest AI updates")
    const { response, deltas } = await streamed("responses", "responses-text.sse")
    // The recording keeps few deltas: the answer is response.completed's final_answer message, without the commentary one.
    expect(response.text).toMatch(/^Here are a few \*\*AI headlines for today/)
    expect(deltas.join("")).toBe("Here are a few **AI")
    expect(response.text.length).toBeGreaterThan(0)
    expect((await whole("responses", "responses-reasoning.json")).text).toMatch(/\w/)
    const call = await whole("responses", "responses-function-call.json")
    expect(call).toMatchObject({ finishReason: "tool-calls", toolCalls: [{ name: "get_weather", arguments: expect.any(Object) }] })
    // The stream is another call: same tool and arguments, another call id.
    const streamedCall = (await streamed("responses", "responses-function-call.sse")).response
    expect(streamedCall).toMatchObject({
      finishReason: "tool-calls",
      toolCalls: [{ id: expect.stringMatching(/^call_/), name: "get_weather", arguments: call.toolCalls?.[0]?.arguments }],
    })
  })

  it("errors: the error event after 200 and the recorded error bodies", async () => {
    server.reply({ kind: "sse", chunks: sseEvents(recorded("responses-error-event.sse")) })
    expect(await rejectionOf(modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} }))).toMatchObject({
      reason: "authentication",
      retryable: false,
    })
    expect(await rejectionOf(whole("responses", "error-429-insufficient-quota.json", 429))).toMatchObject({
      reason: "authentication",
      retryable: false,
      status: 429,
    })
    expect(await rejectionOf(whole("chat", "error-401-invalid-api-key.json", 401))).toMatchObject({ reason: "authentication", status: 401 })
    expect(await rejectionOf(whole("chat", "error-400-unsupported-param.json", 400))).toMatchObject({ reason: "invalid-request", status: 400 })
    expect(await rejectionOf(whole("responses", "error-400-invalid-request.json", 400))).toMatchObject({ reason: "invalid-request", status: 400 })
  })
})

it.runIf(!available)("openai recorded payloads: skipped, ../shared/provider-fixtures/openai is not present", () => {})
