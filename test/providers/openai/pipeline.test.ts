import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { llm, memoryJournal, openaiCompatible, pipeline, type RunEvent } from "../../../src/index.ts"
import { type FakeServer, sse, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, secretKey } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const Kind = z.object({ kind: z.enum(["refund", "bug", "other"]), confidence: z.number() })
const triage = (stream = false) =>
  pipeline({ id: "triage", input: z.object({ ticket: z.string() }) })
    .step(
      "classify",
      llm({
        model: "fast",
        system: "You sort support tickets.",
        prompt: ({ input }) => `Classify: ${input.ticket}`,
        output: Kind,
        stream,
        policy: { retry: { attempts: 3, initialDelay: "10ms", jitter: false } },
      }),
    )
    .edges({ classify: "done" })

const responsesAnswer = (text: string) => {
  const body = jsonFixture("responses-structured.json") as { output: Array<{ type: string; content?: Array<{ text: string }> }> }
  const message = body.output.find((item) => item.type === "message")
  if (message?.content?.[0] !== undefined) message.content[0].text = text
  return { kind: "json" as const, body }
}

describe("openai in a pipeline", () => {
  it("an llm step with a zod output runs on the Responses API and returns the validated object", async () => {
    server.reply(responsesAnswer('{"kind":"refund","confidence":0.92}'))
    const result = await triage().run({ ticket: "I want my money back" }, { models: { fast: modelFor(server, "responses") } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.92 } })
    expect(server.requests[0]?.body).toMatchObject({
      input: [
        { role: "system", content: "You sort support tickets." },
        { role: "user", content: "Classify: I want my money back" },
      ],
      text: { format: { type: "json_schema", name: "classify", strict: true } },
    })
  })

  it("streams on Chat Completions: model.delta events carry the text, the step returns the object", async () => {
    const chunk = (delta: unknown, finish: string | null = null) =>
      sse({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })
    server.reply({ kind: "sse", chunks: [chunk({ content: '{"kind":"bug",' }), chunk({ content: '"confidence":0.8}' }), chunk({}, "stop"), sse("[DONE]")] })
    const events: RunEvent[] = []
    const result = await triage(true).run({ ticket: "It crashes" }, { models: { fast: modelFor(server, "chat") }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: { kind: "bug", confidence: 0.8 } })
    expect(events.flatMap((event) => (event.type === "model.delta" ? [event.text] : []))).toEqual(['{"kind":"bug",', '"confidence":0.8}'])
  })

  it("retries a 429 after its retry-after-ms, then succeeds; the SDK itself never retries", async () => {
    server.reply(
      { kind: "json", status: 429, headers: { "retry-after-ms": "60" }, body: jsonFixture("error-rate-limit.json") },
      responsesAnswer('{"kind":"bug","confidence":0.8}'),
    )
    const events: RunEvent[] = []
    const result = await triage().run({ ticket: "It crashes" }, { models: { fast: modelFor(server, "responses") }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: { kind: "bug" } })
    expect(server.requests).toHaveLength(2)
    expect(server.requests.map((request) => request.headers["x-stainless-retry-count"])).toEqual(["0", "0"])
    expect(events.filter((event) => event.type === "step.retried")).toMatchObject([{ delayMs: 60 }])
  })

  it("an answer that fails the schema is asked again with the issues", async () => {
    server.reply(responsesAnswer('{"kind":"refund"}'), responsesAnswer('{"kind":"refund","confidence":0.7}'))
    const result = await triage().run({ ticket: "Money back" }, { models: { fast: modelFor(server, "responses") } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.7 } })
    expect(JSON.stringify(server.requests[1]?.body)).toContain("confidence")
  })

  it("a 401 fails the run without a retry, and the key appears in no event, journal entry or result", async () => {
    server.reply({
      kind: "json",
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${secretKey}.`, type: "invalid_request_error", code: "invalid_api_key" } },
    })
    const events: RunEvent[] = []
    const journal = memoryJournal()
    const result = await triage().run({ ticket: "Hello" }, { models: { fast: modelFor(server, "chat") }, journal, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "ModelError", provider: "openai", reason: "authentication", retryable: false, status: 401 },
    })
    expect(server.requests).toHaveLength(1)
    const entries = await journal.read(result.runId)
    expect(JSON.stringify(entries)).toContain("authentication")
    expect(JSON.stringify([result, events, entries])).not.toContain("SECRET123456")
  })

  it("runs on an OpenAI-compatible server in JSON mode", async () => {
    server.reply({ kind: "json", body: { ...(jsonFixture("chat-structured.json") as object) } })
    const local = openaiCompatible({ baseURL: `${server.url}/v1`, model: "llama3.2", provider: "ollama", structuredOutput: "json_object" })
    const result = await triage().run({ ticket: "Refund" }, { models: { fast: local } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.92 } })
    expect(server.requests[0]?.body).toMatchObject({ response_format: { type: "json_object" } })
  })
})
