// The Responses API's `phase`: a model that narrates its work sends `commentary` messages beside
// its `final_answer`; only the answer is the step's text. A stream's text is the completed
// response's when it has one. Against the loopback server, on the wire format.
import { existsSync, readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { llm, type ModelRequest, pipeline } from "../../../src/index.ts"
import { type FakeServer, sse, startFakeServer } from "../fake-server.ts"
import { modelFor, openSignal, sseEvents } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(() => server.close())

const ask: ModelRequest = { messages: [{ role: "user", content: "Classify: my card was charged twice" }] }
const message = (id: string, phase: string | undefined, text: string) => ({
  id,
  type: "message",
  status: "completed",
  role: "assistant",
  ...(phase === undefined ? {} : { phase }),
  content: [{ type: "output_text", text, annotations: [] }],
})
const completed = (output: unknown[]) => ({
  id: "resp_1",
  object: "response",
  status: "completed",
  output,
  usage: { input_tokens: 50, output_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
})
const narrated = [message("msg_c", "commentary", "Let me check the billing history first."), message("msg_f", "final_answer", '{"kind":"refund"}')]

// A stream: the commentary message, then the answer, each with its deltas; `final` is what response.completed carries.
const streamOf = (answerDeltas: readonly string[], final: unknown[]) => [
  sse({ type: "response.created", response: { id: "resp_1", status: "in_progress", output: [] } }, "response.created"),
  sse(
    { type: "response.output_item.added", output_index: 0, item: { ...message("msg_c", "commentary", ""), content: [], status: "in_progress" } },
    "response.output_item.added",
  ),
  sse({ type: "response.output_text.delta", output_index: 0, item_id: "msg_c", content_index: 0, delta: "Let me check " }, "response.output_text.delta"),
  sse(
    { type: "response.output_text.delta", output_index: 0, item_id: "msg_c", content_index: 0, delta: "the billing history first." },
    "response.output_text.delta",
  ),
  sse({ type: "response.output_item.done", output_index: 0, item: narrated[0] }, "response.output_item.done"),
  sse(
    { type: "response.output_item.added", output_index: 1, item: { ...message("msg_f", "final_answer", ""), content: [], status: "in_progress" } },
    "response.output_item.added",
  ),
  ...answerDeltas.map((delta) =>
    sse({ type: "response.output_text.delta", output_index: 1, item_id: "msg_f", content_index: 0, delta }, "response.output_text.delta"),
  ),
  sse({ type: "response.output_item.done", output_index: 1, item: narrated[1] }, "response.output_item.done"),
  sse({ type: "response.completed", response: completed(final) }, "response.completed"),
]

describe("openai responses: commentary phase", () => {
  it("keeps commentary messages out of a whole answer's text", async () => {
    server.reply({ kind: "json", body: completed(narrated) })
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal() })
    expect(response).toMatchObject({ text: '{"kind":"refund"}', finishReason: "stop" })
  })

  it("lets a structured llm step parse the answer of a model that narrates", async () => {
    server.reply({ kind: "json", body: completed(narrated) })
    const triage = pipeline({ id: "phase-triage", input: z.object({ ticket: z.string() }) })
      .step("classify", llm({ model: "smart", prompt: ({ input }) => input.ticket, output: z.object({ kind: z.enum(["refund", "bug"]) }) }))
      .edges({ classify: "done" })
    const result = await triage.run({ ticket: "charged twice" }, { models: { smart: modelFor(server, "responses") } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund" } })
    expect(server.requests).toHaveLength(1)
  })

  it("streams only the answer's deltas, and answers with the text of response.completed", async () => {
    server.reply({ kind: "sse", chunks: streamOf(['{"kind":', '"refund"}'], narrated) })
    const deltas: string[] = []
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas).toEqual(['{"kind":', '"refund"}'])
    expect(response).toMatchObject({ text: '{"kind":"refund"}', finishReason: "stop", usage: { inputTokens: 50, outputTokens: 20 } })
  })

  it("takes the completed response's text over deltas that fall short of it", async () => {
    server.reply({ kind: "sse", chunks: streamOf(['{"ki'], narrated) })
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} })
    expect(response.text).toBe('{"kind":"refund"}')
  })

  it("falls back to the deltas when response.completed carries no output", async () => {
    server.reply({ kind: "sse", chunks: streamOf(["partial ", "answer"], []) })
    const response = await modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: () => {} })
    expect(response.text).toBe("partial answer")
  })

  it("treats a message without a phase as the answer, as before", async () => {
    server.reply({ kind: "json", body: completed([message("msg_a", undefined, "Hello "), message("msg_b", undefined, "there")]) })
    expect((await modelFor(server, "responses").generate(ask, { signal: openSignal() })).text).toBe("Hello there")
  })

  const recordedFolder = new URL("../../../../shared/provider-fixtures/openai/", import.meta.url)
  it.skipIf(!existsSync(recordedFolder))("drops the commentary of a recorded gpt-5 response, whole and streamed", async () => {
    const recorded = (name: string) => readFileSync(new URL(name, recordedFolder), "utf8")
    server.reply({ kind: "json", body: JSON.parse(recorded("responses-text.json")) }, { kind: "sse", chunks: sseEvents(recorded("responses-text.sse")) })
    const whole = await modelFor(server, "responses").generate(ask, { signal: openSignal() })
    expect(whole.text).toMatch(/^Here are some \*\*latest AI updates/)
    expect(whole.text).not.toContain("I’ll quickly check")
    const deltas: string[] = []
    const streamed = await modelFor(server, "responses").generate(ask, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(streamed.text).not.toContain("Got it")
    expect(deltas.join("")).not.toContain("Got it")
  })
})
