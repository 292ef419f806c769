// Prompt caching on the wire: which parts of a Messages API request carry `cache_control`, and the
// cached-token usage of recorded answers as a step reports it.
import { existsSync, readFileSync } from "node:fs"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, llm, maxSteps, pipeline, type RunEvent, tool } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, sentBody } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

// Recorded payloads live beside the repository (../shared/provider-fixtures), not in it: the test
// that needs one is skipped, saying so, where they are absent.
const recordedFolder = new URL("../../../../shared/provider-fixtures/anthropic/", import.meta.url)
const recordedPresent = existsSync(recordedFolder)
const recorded = (name: string): unknown => JSON.parse(readFileSync(new URL(name, recordedFolder), "utf8"))

// Every place of a body that carries a breakpoint, as a path.
const breakpointsOf = (value: unknown, path = ""): string[] => {
  if (Array.isArray(value)) return value.flatMap((item, index) => breakpointsOf(item, `${path}[${index}]`))
  if (typeof value !== "object" || value === null) return []
  return Object.entries(value).flatMap(([key, field]) => (key === "cache_control" ? [path] : breakpointsOf(field, path === "" ? key : `${path}.${key}`)))
}

const lookupOrder = { name: "lookupOrder", description: "Finds an order", inputSchema: { type: "object", properties: { orderId: { type: "string" } } } }
const agentTurn = {
  messages: [
    { role: "system" as const, content: "You are support." },
    { role: "user" as const, content: "Where is A-1?" },
    { role: "assistant" as const, content: "", toolCalls: [{ id: "toolu_A", name: "lookupOrder", arguments: { orderId: "A-1" } }] },
    { role: "tool" as const, toolCallId: "toolu_A", name: "lookupOrder", content: '{"status":"shipped"}' },
    { role: "assistant" as const, content: "", toolCalls: [{ id: "toolu_B", name: "lookupOrder", arguments: { orderId: "A-1" } }] },
    { role: "tool" as const, toolCallId: "toolu_B", name: "lookupOrder", content: '{"eta":"Monday"}' },
  ],
  tools: [lookupOrder],
}

describe("anthropic prompt caching", () => {
  it("marks the tools, the system prompt, the end of the conversation and where the turn before ended: 4 breakpoints", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate(agentTurn, { signal: openSignal() })
    const body = sentBody(server)
    expect(breakpointsOf(body).sort()).toEqual(["messages[2].content[0]", "messages[4].content[0]", "system[0]", "tools[0]"])
    expect(body["system"]).toEqual([{ type: "text", text: "You are support.", cache_control: { type: "ephemeral" } }])
    // The previous turn's request ended with the first tool result: this turn reads that prefix.
    expect((body["messages"] as Array<{ content: unknown }>)[2]?.content).toEqual([
      { type: "tool_result", tool_use_id: "toolu_A", content: '{"status":"shipped"}', cache_control: { type: "ephemeral" } },
    ])
  })

  it("a single user message gets one conversation breakpoint, as a text block", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal() })
    expect(sentBody(server)["messages"]).toEqual([{ role: "user", content: [{ type: "text", text: "Hi", cache_control: { type: "ephemeral" } }] }])
  })

  it("promptCache: false sends no breakpoint at all", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate(agentTurn, { signal: openSignal(), promptCache: false })
    expect(breakpointsOf(sentBody(server))).toEqual([])
    expect(sentBody(server)["system"]).toBe("You are support.")
  })

  it("explicit breakpoints mark only what they name", async () => {
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    await modelFor(server).generate(agentTurn, { signal: openSignal(), promptCache: { breakpoints: ["tools"] } })
    expect(breakpointsOf(sentBody(server))).toEqual(["tools[0]"])
  })

  it("a step's cache: false and cache: { breakpoints } reach the wire", async () => {
    const steps = (cache: false | { breakpoints: Array<"system"> }) =>
      pipeline({ id: "cache-options", input: z.object({ text: z.string() }) })
        .step("say", llm({ model: "smart", system: "Be brief.", prompt: ({ input }) => input.text, cache }))
        .edges({ say: "done" })
    server.reply({ kind: "json", body: jsonFixture("message-text.json") }, { kind: "json", body: jsonFixture("message-text.json") })
    await steps(false).run({ text: "Hi" }, { models: { smart: modelFor(server) } })
    await steps({ breakpoints: ["system"] }).run({ text: "Hi" }, { models: { smart: modelFor(server) } })
    expect(breakpointsOf(sentBody(server, 0))).toEqual([])
    expect(breakpointsOf(sentBody(server, 1))).toEqual(["system[0]"])
  })

  it.skipIf(!recordedPresent)(
    `every turn of an agent carries its breakpoints, and the step reports the recorded answers' cached tokens${recordedPresent ? "" : " (skipped: ../shared/provider-fixtures/anthropic is absent)"}`,
    async () => {
      const json = tool({
        name: "json",
        description: "Returns the weather as JSON",
        input: z.object({ elements: z.array(z.object({ location: z.string() }).passthrough()) }),
        run: async ({ elements }) => `${elements.length} places`,
      })
      const weather = pipeline({ id: "weather", input: z.object({ question: z.string() }) })
        .step(
          "answer",
          agent({ model: "smart", system: "You report the weather.", prompt: ({ input }) => input.question, tools: { json }, stop: [maxSteps(4)] }),
        )
        .edges({ answer: "done" })
      // Turn 1: a recorded tool_use answer (no cache use); turn 2: an answer that read 1,200 cached tokens.
      server.reply({ kind: "json", body: recorded("messages-tool.json") }, { kind: "json", body: jsonFixture("message-text.json") })
      const events: RunEvent[] = []
      const result = await weather.run({ question: "Weather?" }, { models: { smart: modelFor(server) }, onEvent: (event) => events.push(event) })
      expect(result).toMatchObject({ status: "done", output: "Your refund is on its way." })
      expect(breakpointsOf(sentBody(server, 0)).sort()).toEqual(["messages[0].content[0]", "system[0]", "tools[0]"])
      expect(breakpointsOf(sentBody(server, 1)).sort()).toEqual(["messages[0].content[0]", "messages[2].content[0]", "system[0]", "tools[0]"])
      const finished = events.find((event) => event.type === "step.finished")
      expect(finished?.type === "step.finished" && finished.usage).toMatchObject({ inputTokens: 1151 + (21 + 4 + 1200), cachedInputTokens: 1200, calls: 2 })
      const calls = events.filter((event) => event.type === "model.called")
      expect(calls.map((event) => event.type === "model.called" && (event.usage?.cachedInputTokens ?? 0))).toEqual([0, 1200])
    },
  )

  it("an agent with cache: false sends no breakpoint on any turn", async () => {
    const quiet = pipeline({ id: "quiet", input: z.object({ question: z.string() }) })
      .step("answer", agent({ model: "smart", system: "Be brief.", prompt: ({ input }) => input.question, tools: {}, stop: [maxSteps(2)], cache: false }))
      .edges({ answer: "done" })
    server.reply({ kind: "json", body: jsonFixture("message-text.json") })
    expect(await quiet.run({ question: "Hi" }, { models: { smart: modelFor(server) } })).toMatchObject({ status: "done" })
    expect(breakpointsOf(sentBody(server))).toEqual([])
  })

  it("a cache option that names an unknown breakpoint is refused when the step is added, naming it", () => {
    expect(() =>
      pipeline({ id: "bad-cache", input: z.object({ text: z.string() }) }).step(
        "say",
        llm({ model: "smart", prompt: ({ input }) => input.text, cache: { breakpoints: ["everything" as "system"] } }),
      ),
    ).toThrow(/step "say".*cache.*"system", "tools" or "conversation"/s)
  })
})
