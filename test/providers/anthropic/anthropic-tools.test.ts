import { afterEach, beforeEach, describe, expect, it } from "vitest"
import type { ModelRequest } from "../../../src/index.ts"
import { type FakeServer, sse, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, sentBody, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const lookupOrder = {
  name: "lookupOrder",
  description: "Finds an order",
  inputSchema: { type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"] },
}
const classifySchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: { kind: { type: "string", enum: ["refund", "bug", "other"] }, confidence: { type: "number" } },
  required: ["kind", "confidence"],
  additionalProperties: false,
}

describe("anthropic: tool calls", () => {
  it("sends tool definitions and maps toolChoice", async () => {
    const choices: Array<[ModelRequest["toolChoice"], unknown]> = [
      [undefined, undefined],
      ["auto", { type: "auto" }],
      ["required", { type: "any" }],
      ["none", { type: "none" }],
      [{ name: "lookupOrder" }, { type: "tool", name: "lookupOrder" }],
    ]
    for (const [toolChoice, wire] of choices) {
      server.reply({ kind: "json", body: jsonFixture("message-tool-parallel.json") })
      await modelFor(server).generate(
        { messages: [{ role: "user", content: "Orders?" }], tools: [lookupOrder], ...(toolChoice === undefined ? {} : { toolChoice }) },
        { signal: openSignal(), promptCache: false },
      )
      expect(sentBody(server).tools).toEqual([{ name: "lookupOrder", description: "Finds an order", input_schema: lookupOrder.inputSchema }])
      expect(sentBody(server).tool_choice).toEqual(wire)
    }
  })

  it("returns parallel tool calls with their parsed arguments and the text before them", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-tool-parallel.json") })
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Orders A-1 and B-2?" }], tools: [lookupOrder] },
      { signal: openSignal(), promptCache: false },
    )
    expect(response).toMatchObject({
      text: "I'll look up both orders.",
      finishReason: "tool-calls",
      toolCalls: [
        { id: "toolu_01OrderA", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "toolu_01OrderB", name: "lookupOrder", arguments: { orderId: "B-2" } },
      ],
    })
  })

  it("assembles streamed arguments of parallel calls (input_json_delta), streaming only the text", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("stream-tool-parallel.sse") })
    const deltas: string[] = []
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Orders?" }], tools: [lookupOrder] },
      { signal: openSignal(), onDelta: (text) => deltas.push(text) },
    )
    expect(deltas).toEqual(["Looking up ", "both orders."])
    expect(response).toEqual({
      text: "Looking up both orders.",
      finishReason: "tool-calls",
      toolCalls: [
        { id: "toolu_01OrderA", name: "lookupOrder", arguments: { orderId: "A-1" } },
        { id: "toolu_01OrderB", name: "lookupOrder", arguments: { orderId: "B-2" } },
      ],
      usage: { inputTokens: 310, outputTokens: 88 },
    })
  })

  it("keeps streamed arguments that are not JSON as raw text; a call without arguments gets {}", async () => {
    const start = {
      type: "message_start",
      message: { id: "m", type: "message", role: "assistant", model: "claude-sonnet-5", content: [], usage: { input_tokens: 5, output_tokens: 1 } },
    }
    const toolStart = (index: number, id: string) =>
      sse({ type: "content_block_start", index, content_block: { type: "tool_use", id, name: "lookupOrder", input: {} } }, "content_block_start")
    server.reply({
      kind: "sse",
      chunks: [
        sse(start, "message_start"),
        toolStart(0, "toolu_bad"),
        sse({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"orderId": "A-' } }, "content_block_delta"),
        sse({ type: "content_block_stop", index: 0 }, "content_block_stop"),
        toolStart(1, "toolu_empty"),
        sse({ type: "content_block_stop", index: 1 }, "content_block_stop"),
        sse({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 9 } }, "message_delta"),
        sse({ type: "message_stop" }, "message_stop"),
      ],
    })
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Order?" }], tools: [lookupOrder] },
      { signal: openSignal(), onDelta: () => {} },
    )
    expect(response.toolCalls).toEqual([
      { id: "toolu_bad", name: "lookupOrder", arguments: '{"orderId": "A-' },
      { id: "toolu_empty", name: "lookupOrder", arguments: {} },
    ])
  })

  it("sends assistant tool calls as tool_use blocks and all results of a turn in one user message", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate(
      {
        messages: [
          { role: "system", content: "You are support." },
          { role: "user", content: "Orders A-1 and B-2?" },
          {
            role: "assistant",
            content: "I'll look up both orders.",
            toolCalls: [
              { id: "toolu_A", name: "lookupOrder", arguments: { orderId: "A-1" } },
              { id: "toolu_B", name: "lookupOrder", arguments: '{"orderId":"B-2"}' },
            ],
          },
          { role: "tool", toolCallId: "toolu_A", name: "lookupOrder", content: '{"status":"shipped"}' },
          { role: "tool", toolCallId: "toolu_B", name: "lookupOrder", content: "order not found", isError: true },
          { role: "user", content: "And when will A-1 arrive?" },
          { role: "assistant", content: "", toolCalls: [{ id: "toolu_C", name: "lookupOrder", arguments: "not json" }] },
          { role: "tool", toolCallId: "toolu_C", name: "lookupOrder", content: "{}" },
        ],
        tools: [lookupOrder],
      },
      { signal: openSignal(), promptCache: false },
    )
    expect(sentBody(server).messages).toEqual([
      { role: "user", content: "Orders A-1 and B-2?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "I'll look up both orders." },
          { type: "tool_use", id: "toolu_A", name: "lookupOrder", input: { orderId: "A-1" } },
          { type: "tool_use", id: "toolu_B", name: "lookupOrder", input: { orderId: "B-2" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_A", content: '{"status":"shipped"}' },
          { type: "tool_result", tool_use_id: "toolu_B", content: "order not found", is_error: true },
          { type: "text", text: "And when will A-1 arrive?" },
        ],
      },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_C", name: "lookupOrder", input: { raw: "not json" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_C", content: "{}" }] },
    ])
  })
})

describe("anthropic: structured output through a forced tool", () => {
  const request: ModelRequest = {
    messages: [{ role: "user", content: "Classify: I want my money back" }],
    output: { name: "classify", jsonSchema: classifySchema },
  }

  it("offers one tool with the output schema, forces it, and answers with its input as JSON text", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-structured.json") })
    const response = await modelFor(server).generate(request, { signal: openSignal() })
    const { $schema: _dialect, ...inputSchema } = classifySchema
    expect(sentBody(server)).toMatchObject({
      tools: [{ name: "classify", description: expect.any(String), input_schema: inputSchema }],
      tool_choice: { type: "tool", name: "classify" },
    })
    expect(JSON.parse(response.text)).toEqual({ kind: "refund", confidence: 0.92 })
    expect(response).toMatchObject({ finishReason: "stop" })
    expect(response.toolCalls).toBeUndefined()
  })

  it("streams the answer's JSON as deltas that add up to the text", async () => {
    server.reply({ kind: "sse", chunks: sseFixture("stream-structured.sse") })
    const deltas: string[] = []
    const response = await modelFor(server).generate(request, { signal: openSignal(), onDelta: (text) => deltas.push(text) })
    expect(deltas.join("")).toBe(response.text)
    expect(deltas.length).toBeGreaterThan(1)
    expect(JSON.parse(response.text)).toEqual({ kind: "refund", confidence: 0.92 })
  })

  it("wraps a schema that is not an object in { value } and unwraps the answer", async () => {
    const listSchema = { type: "array", items: { type: "string" } }
    server.reply({
      kind: "json",
      body: {
        ...(jsonFixture("message-structured.json") as object),
        content: [{ type: "tool_use", id: "toolu_1", name: "tags", input: { value: ["refund", "urgent"] } }],
      },
    })
    const response = await modelFor(server).generate(
      { messages: [{ role: "user", content: "Tags?" }], output: { name: "tags", jsonSchema: listSchema } },
      { signal: openSignal(), promptCache: false },
    )
    expect(sentBody(server).tools).toEqual([
      { name: "tags", description: expect.any(String), input_schema: { type: "object", properties: { value: listSchema }, required: ["value"] } },
    ])
    expect(JSON.parse(response.text)).toEqual(["refund", "urgent"])
  })

  it("with tools on offer too: adds the answer tool, lets the model pick any, returns real tool calls as tool calls", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-tool-parallel.json") })
    const response = await modelFor(server).generate({ ...request, tools: [lookupOrder] }, { signal: openSignal() })
    expect((sentBody(server).tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(["lookupOrder", "classify"])
    expect(sentBody(server).tool_choice).toEqual({ type: "any" })
    expect(response.toolCalls?.map((call) => call.name)).toEqual(["lookupOrder", "lookupOrder"])
  })

  it("renames the answer tool when the step name is not a valid tool name or shadows a tool", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-structured.json") })
    await modelFor(server).generate({ ...request, output: { name: "lookupOrder", jsonSchema: classifySchema }, tools: [lookupOrder] }, { signal: openSignal() })
    expect((sentBody(server).tools as Array<{ name: string }>).map((tool) => tool.name)).toEqual(["lookupOrder", "lookupOrder_2"])
    server.reply({ kind: "json", body: jsonFixture("message-structured.json") })
    await modelFor(server).generate({ ...request, output: { name: "triage step.v2", jsonSchema: classifySchema } }, { signal: openSignal() })
    expect(sentBody(server).tool_choice).toEqual({ type: "tool", name: "triage_step_v2" })
  })
})
