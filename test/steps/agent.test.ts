import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import {
  agent,
  budget,
  fn,
  hasToolCall,
  maxSteps,
  maxToolCalls,
  maxVisits,
  memoryJournal,
  pipeline,
  type RunEvent,
  route,
  tool,
  when,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const lookupOrder = tool({
  name: "lookupOrder",
  description: "Finds an order",
  input: z.object({ orderId: z.string() }),
  run: async ({ orderId }) => ({ orderId, status: "shipped", total: 40 }),
})

const Answer = z.object({ refund: z.boolean(), note: z.string() })

const support = (stop = [maxSteps(5)] as const, extra: { tools?: Parameters<typeof agent>[0]["tools"] } = {}) =>
  pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
    .step(
      "resolve",
      agent({
        model: "smart",
        system: "You resolve support tickets.",
        prompt: ({ input }) => input.ticket,
        tools: extra.tools ?? { lookupOrder },
        output: Answer,
        stop: [...stop],
      }),
    )
    .step(
      "reply",
      fn(({ steps }) => `refund: ${steps.resolve?.refund}`),
    )
    .edges({ resolve: "reply", reply: "done" })

afterEach(() => {
  vi.useRealTimers()
})

describe("agent step", () => {
  it("loops model turn → tool calls → model turn, and returns the typed answer", async () => {
    const model = scriptedModel([
      { toolCalls: [{ name: "lookupOrder", arguments: { orderId: "A-1" } }], usage: { inputTokens: 100, outputTokens: 10 } },
      { object: { refund: true, note: "order A-1 shipped; refunding" }, usage: { inputTokens: 150, outputTokens: 20 } },
    ])
    const journal = memoryJournal()
    const result = await support().run({ ticket: "Refund A-1 please" }, { models: { smart: model }, journal, runId: "r1" })
    expect(result).toMatchObject({ status: "done", output: "refund: true", steps: { resolve: { refund: true, note: "order A-1 shipped; refunding" } } })
    expect(result.usage).toMatchObject({ inputTokens: 250, outputTokens: 30, calls: 2 })
    // The second turn sees the tool's result, tied to the call it answers.
    const second = model.calls[1]?.request.messages ?? []
    expect(second.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool"])
    expect(second[3]).toMatchObject({ role: "tool", toolCallId: "call_1_0", name: "lookupOrder", content: '{"orderId":"A-1","status":"shipped","total":40}' })
    expect(model.calls[0]?.request.tools?.map((definition) => definition.name)).toEqual(["lookupOrder"])
    const types = (await journal.read("r1")).map((entry) => entry.type)
    expect(types.filter((type) => type === "agent.turned")).toHaveLength(2)
    expect(types.filter((type) => type === "tool.called")).toHaveLength(1)
    const called = (await journal.read("r1")).find((entry) => entry.type === "tool.called")
    expect(called).toMatchObject({ tool: "lookupOrder", callId: "call_1_0", turn: 1, args: { orderId: "A-1" } })
  })

  it("keeps the conversation in the machine context, so a snapshot carries it", async () => {
    const handle = support().start(
      { ticket: "Refund A-1" },
      {
        models: { smart: scriptedModel([{ toolCalls: [{ name: "lookupOrder", arguments: { orderId: "A-1" } }] }, { object: { refund: false, note: "n" } }]) },
      },
    )
    await handle.result
    const context = handle.actor.getPersistedSnapshot() as unknown as {
      context: { agents: Record<string, { turns: number; toolCalls: number; messages: unknown[] }> }
    }
    expect(context.context.agents["resolve"]).toMatchObject({ turns: 2, toolCalls: 1 })
    expect(JSON.parse(JSON.stringify(context.context.agents["resolve"]?.messages))).toHaveLength(5)
  })

  it("feeds a tool's error, an unknown tool and invalid arguments back to the model; invalid arguments never reach the tool", async () => {
    const seen: unknown[] = []
    const strict = tool({
      name: "strict",
      input: z.object({ count: z.number().int() }),
      run: async (args) => {
        seen.push(args)
        if (args.count > 5) throw new Error("count too large")
        return "ok"
      },
    })
    const model = scriptedModel([
      {
        toolCalls: [
          { name: "strict", arguments: { count: "three" } },
          { name: "nope", arguments: {} },
        ],
      },
      { toolCalls: [{ name: "strict", arguments: { count: 2 } }] },
      { toolCalls: [{ name: "strict", arguments: { count: 9 } }] },
      { object: { refund: false, note: "done" } },
    ])
    const result = await support([maxSteps(6)], { tools: { strict } }).run({ ticket: "t" }, { models: { smart: model } })
    expect(result.status).toBe("done")
    expect(seen).toEqual([{ count: 2 }, { count: 9 }])
    const toolMessages = (model.calls[1]?.request.messages ?? []).filter((message) => message.role === "tool")
    expect(toolMessages[0]).toMatchObject({ isError: true, content: expect.stringContaining('invalid arguments for tool "strict"') })
    expect(toolMessages[1]).toMatchObject({ isError: true, content: expect.stringContaining('unknown tool "nope"') })
    const fourth = (model.calls[3]?.request.messages ?? []).filter((message) => message.role === "tool").at(-1)
    expect(fourth).toMatchObject({ isError: true, content: "error: count too large" })
  })

  it("feeds a tool timeout back to the model as an error result", async () => {
    vi.useFakeTimers()
    let aborted = false
    const slow = tool({
      name: "slow",
      input: z.object({}),
      timeout: "2s",
      run: (_, { signal }) =>
        new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve("late"), 10_000)
          signal.addEventListener("abort", () => ((aborted = true), clearTimeout(timer)))
        }),
    })
    const model = scriptedModel([{ toolCalls: [{ name: "slow", arguments: {} }] }, { object: { refund: false, note: "gave up" } }])
    const running = support([maxSteps(3)], { tools: { slow } }).run({ ticket: "t" }, { models: { smart: model } })
    await vi.advanceTimersByTimeAsync(2_500)
    const result = await running
    expect(result.status).toBe("done")
    expect(aborted).toBe(true)
    const fed = (model.calls[1]?.request.messages ?? []).find((message) => message.role === "tool")
    expect(fed).toMatchObject({ isError: true, content: 'error: tool "slow" timed out after 2000ms' })
  })

  it("fails the step with a typed ToolError after maxToolErrors failed calls in a row", async () => {
    const broken = tool({
      name: "broken",
      input: z.object({}),
      run: () => {
        throw new Error("database down")
      },
    })
    const model = scriptedModel([{ toolCalls: [{ name: "broken", arguments: {} }] }], { repeat: true })
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("work", agent({ model: "smart", prompt: () => "go", tools: { broken }, maxToolErrors: 2, stop: [maxSteps(10)] }))
      .edges({ work: "done" })
    const result = await p.run({}, { models: { smart: model } })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "ToolError", step: "work", tool: "broken", message: expect.stringContaining("2 tool calls in a row failed") },
    })
    expect(model.calls).toHaveLength(2)
  })

  it("runs the calls of one turn in parallel, never more than toolConcurrency at once", async () => {
    let inFlight = 0
    let most = 0
    const fetchPage = tool({
      name: "fetchPage",
      input: z.object({ url: z.string() }),
      run: async ({ url }) => {
        inFlight++
        most = Math.max(most, inFlight)
        await new Promise((resolve) => setTimeout(resolve, 5))
        inFlight--
        return `page ${url}`
      },
    })
    const calls = Array.from({ length: 7 }, (_, index) => ({ name: "fetchPage", arguments: { url: `u${index}` } }))
    const model = scriptedModel([{ toolCalls: calls }, "summary"])
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("read", agent({ model: "smart", prompt: () => "read all", tools: { fetchPage }, toolConcurrency: 3, stop: [maxSteps(3)] }))
      .edges({ read: "done" })
    const result = await p.run({}, { models: { smart: model } })
    expect(result).toMatchObject({ status: "done", output: "summary" })
    expect(most).toBe(3)
    const results = (model.calls[1]?.request.messages ?? []).filter((message) => message.role === "tool")
    expect(results.map((message) => message.content)).toEqual(calls.map((_, index) => `page u${index}`))
  })

  it("gives the tool an idempotency key runId:step:visit:turn:callId", async () => {
    const keys: string[] = []
    const charge = tool({ name: "charge", input: z.object({}), run: (_, { idempotencyKey }) => (keys.push(idempotencyKey), "charged") })
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("pay", agent({ model: "smart", prompt: () => "pay", tools: { charge }, stop: [maxSteps(3)] }))
      .edges({ pay: "done" })
    await p.run({}, { runId: "run-9", models: { smart: scriptedModel([{ toolCalls: [{ id: "c-7", name: "charge", arguments: {} }] }, "ok"]) } })
    expect(keys).toEqual(["run-9:pay:1:1:c-7"])
  })

  it("sends a final answer that fails the schema back with its issues", async () => {
    const model = scriptedModel([{ object: { refund: "yes" } }, { object: { refund: true, note: "fixed" } }])
    const result = await support().run({ ticket: "t" }, { models: { smart: model } })
    expect(result).toMatchObject({ status: "done", steps: { resolve: { refund: true, note: "fixed" } } })
    expect(model.calls[1]?.request.messages.at(-1)).toMatchObject({ role: "user", content: expect.stringContaining("does not match the output schema") })
  })

  it("records a failed model turn as the step's typed error", async () => {
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("work", agent({ model: "smart", prompt: () => "go", tools: { lookupOrder }, stop: [maxSteps(3)], policy: { retry: { attempts: 1 } } }))
      .edges({ work: "done" })
    const result = await p.run({}, { models: { smart: scriptedModel([{ fail: "authentication" }]) } })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "authentication", step: "work" } })
  })

  it("starts a fresh conversation on each visit of a loop, and resumes a second visit from the journal", async () => {
    const seen: string[] = []
    const note = tool({
      name: "note",
      input: z.object({ text: z.string() }),
      run: ({ text }, { idempotencyKey }) => (seen.push(`${text} ${idempotencyKey}`), "noted"),
    })
    const build = () =>
      pipeline({ id: "drafts", input: z.object({}) })
        .step("draft", agent({ model: "smart", prompt: ({ visit }) => `draft ${visit}`, tools: { note }, stop: [maxSteps(3)] }))
        .step(
          "check",
          fn(({ visit }) => visit),
        )
        .edges({ draft: "check", check: { next: route(["draft", "done"], ({ output }) => (output < 2 ? "draft" : "done")), stop: maxVisits(3) } })
    const script = () => [
      (request: { messages: readonly { role: string; content: string }[] }) =>
        request.messages.length === 1
          ? { toolCalls: [{ id: "n", name: "note", arguments: { text: request.messages[0]?.content ?? "" } }] }
          : `done ${request.messages[0]?.content}`,
    ]
    const journal = memoryJournal()
    const model = scriptedModel(script(), { repeat: true })
    const result = await build().run({}, { models: { smart: model }, journal, runId: "v" })
    expect(result).toMatchObject({ status: "done", steps: { draft: "done draft 2" } })
    // The second visit saw only its own task, not the first visit's conversation.
    expect(model.calls[2]?.request.messages).toEqual([{ role: "user", content: "draft 2" }])
    expect(seen).toEqual(["draft 1 v:draft:1:1:n", "draft 2 v:draft:2:1:n"])
    const entries = await journal.read("v")
    const crashed = memoryJournal()
    const cut = entries.findIndex((entry) => entry.type === "tool.called" && entry.visit === 2) + 1
    for (const entry of entries.slice(0, cut)) await crashed.append(entry)
    const again = scriptedModel(script(), { repeat: true })
    expect(await build().resume("v", { journal: crashed, models: { smart: again } })).toMatchObject({ status: "done", steps: { draft: "done draft 2" } })
    expect(seen).toHaveLength(2)
    expect(again.calls).toHaveLength(1)
  })

  it("rejects an agent without stop rules when it is built", () => {
    // @ts-expect-error stop needs at least one rule
    const bare = agent({ model: "smart", prompt: () => "go", tools: {}, stop: [] })
    expect(() => pipeline({ id: "unbounded", input: z.object({}) }).step("loop", bare as never)).toThrow(
      /step "loop": agent\(\{ ... \}\).stop must be a list of at least one stop rule/,
    )
  })

  void budget
  void hasToolCall
  void maxToolCalls
  void when
  void ({} as RunEvent)
})
