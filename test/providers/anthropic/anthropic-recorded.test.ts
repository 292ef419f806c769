// Replays payloads recorded from the real Messages API (third-party data in ../shared, never copied
// into this repository) through the provider. Skipped where that folder does not exist.
import { existsSync, readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { ModelError } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { modelFor, openSignal, rejectionOf, sseEvents } from "./helpers.ts"

const folder = new URL("../../../../shared/provider-fixtures/anthropic/", import.meta.url)
const present = existsSync(folder)
const recorded = (name: string) => readFileSync(new URL(name, folder), "utf8")
const ask = { messages: [{ role: "user" as const, content: "Hello" }] }

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

describe.skipIf(!present)(`recorded Anthropic payloads${present ? "" : " (skipped: ../shared/provider-fixtures/anthropic is absent)"}`, () => {
  const whole = (name: string) => server.reply({ kind: "json", body: JSON.parse(recorded(name)) })
  const streamed = (name: string) => server.reply({ kind: "sse", chunks: sseEvents(recorded(name)) })

  it("text, whole and streamed", async () => {
    whole("messages-text.json")
    const response = await modelFor(server).generate(ask, { signal: openSignal() })
    expect(response).toMatchObject({ finishReason: "stop", usage: { inputTokens: 12, outputTokens: 29 } })
    expect(response.text).toMatch(/^Hello! I'm doing well/)
    streamed("messages-text.sse")
    const deltas: string[] = []
    const stream = await modelFor(server).generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas.length).toBe(6)
    expect(deltas.join("")).toBe(stream.text)
    expect(stream.usage).toEqual({ inputTokens: 12, outputTokens: 30 })
  })

  it("thinking blocks stay out of the text, whole and streamed", async () => {
    whole("messages-thinking.json")
    expect((await modelFor(server).generate(ask, { signal: openSignal() })).text).toBe("925 ÷ 5 = 185")
    streamed("messages-thinking.sse")
    const deltas: string[] = []
    const response = await modelFor(server).generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas.join("")).toBe("925 ÷ 5 = 185")
    expect(response).toMatchObject({ text: "925 ÷ 5 = 185", usage: { inputTokens: 69, outputTokens: 53 } })
  })

  it("tool calls without arguments, after thinking or text, whole and streamed", async () => {
    whole("messages-thinking-tool.json")
    expect(await modelFor(server).generate(ask, { signal: openSignal() })).toMatchObject({
      text: "",
      finishReason: "tool-calls",
      toolCalls: [{ id: "toolu_017R7ACrx7NF7sLDDtvdQ1u9", name: "checkSandboxErrors", arguments: {} }],
    })
    whole("messages-tool-no-args.json")
    expect((await modelFor(server).generate(ask, { signal: openSignal() })).toolCalls).toEqual([
      { id: "toolu_01LRmxn9vGM1d2DZSDBowdZ1", name: "updateIssueList", arguments: {} },
    ])
    streamed("messages-tool-no-args.sse")
    const response = await modelFor(server).generate(ask, { signal: openSignal(), onDelta: () => {} })
    expect(response).toMatchObject({ text: "I'll update the issue list for you.", toolCalls: [{ name: "updateIssueList", arguments: {} }] })
  })

  it("a tool named like the structured output becomes the JSON text, whole and streamed", async () => {
    const request = { ...ask, output: { name: "json", jsonSchema: { type: "object", properties: { elements: { type: "array" } } } } }
    whole("messages-tool.json")
    const response = await modelFor(server).generate(request, { signal: openSignal() })
    expect(JSON.parse(response.text).elements).toHaveLength(4)
    expect(response).toMatchObject({ finishReason: "stop" })
    streamed("messages-tool.sse")
    const deltas: string[] = []
    const stream = await modelFor(server).generate(request, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas.join("")).toBe(stream.text)
    expect(JSON.parse(stream.text)).toEqual({ elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }] })
  })

  it.each([
    ["error-400-invalid-request.json", 400, "invalid-request", false],
    ["error-401-authentication.json", 401, "authentication", false],
    ["error-529-overloaded.json", 529, "overloaded", true],
  ] as const)("%s → %s", async (name, status, reason, retryable) => {
    server.reply({ kind: "json", status, body: JSON.parse(recorded(name)) })
    const error = await rejectionOf(modelFor(server).generate(ask, { signal: openSignal() }))
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ reason, retryable, status })
  })
})
