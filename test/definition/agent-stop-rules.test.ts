import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  type AgentStopContext,
  agent,
  and,
  budget,
  fn,
  hasToolCall,
  maxSteps,
  maxToolCalls,
  memoryJournal,
  not,
  or,
  pipeline,
  type StopRule,
  tool,
  when,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const search = tool({ name: "search", input: z.object({ query: z.string() }), run: ({ query }) => `results for ${query}` })
const handOff = tool({ name: "handOff", input: z.object({ to: z.string() }), run: ({ to }) => `handed to ${to}` })

// A model that never stops asking for tools: only a stop rule ends it.
const runaway = (usage = { inputTokens: 100, outputTokens: 50 }) =>
  scriptedModel([{ toolCalls: [{ name: "search", arguments: { query: "more" } }], usage }], { repeat: true })

const researcher = (stop: ReadonlyArray<StopRule<AgentStopContext<{ topic: string }, {}>>>, withStoppedEdge = false) => {
  const base = pipeline({ id: "research", input: z.object({ topic: z.string() }) })
    .step(
      "research",
      agent({
        model: "smart",
        prompt: ({ input }) => input.topic,
        tools: { search, handOff },
        stop: stop as [StopRule<AgentStopContext<{ topic: string }, {}>>],
      }),
    )
    .step(
      "summarize",
      fn(() => "best effort summary"),
    )
  return withStoppedEdge
    ? base.edges({ research: { next: "summarize", stopped: "summarize" }, summarize: "done" })
    : base.edges({ research: "summarize", summarize: "done" })
}

describe("agent stop rules", () => {
  it("maxSteps(n) ends the run stopped after n model turns, naming the rule, with the usage so far", async () => {
    const model = runaway()
    const journal = memoryJournal()
    const result = await researcher([maxSteps(3)]).run({ topic: "x" }, { models: { smart: model }, journal, runId: "r" })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { step: "research", rule: "maxSteps(3)" } })
    expect(model.calls).toHaveLength(3)
    expect(result.usage).toMatchObject({ inputTokens: 300, outputTokens: 150, calls: 3 })
    // The third turn's tool calls never ran: the rule fired between the turn and its tools.
    expect((await journal.read("r")).filter((entry) => entry.type === "tool.called")).toHaveLength(2)
    expect((await journal.read("r")).at(-1)).toMatchObject({ type: "run.finished", status: "stopped", stoppedBy: { rule: "maxSteps(3)" } })
  })

  it("follows the step's stopped edge when one is declared", async () => {
    const result = await researcher([maxSteps(2)], true).run({ topic: "x" }, { models: { smart: runaway() } })
    expect(result).toMatchObject({ status: "done", output: "best effort summary", stoppedBy: { step: "research", rule: "maxSteps(2)" } })
  })

  it("maxToolCalls(n) does not run a batch that would go past n", async () => {
    let ran = 0
    const counted = tool({ name: "search", input: z.object({ query: z.string() }), run: () => String(++ran) })
    const model = scriptedModel(
      [
        {
          toolCalls: [
            { name: "search", arguments: { query: "a" } },
            { name: "search", arguments: { query: "b" } },
          ],
        },
      ],
      { repeat: true },
    )
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("work", agent({ model: "smart", prompt: () => "go", tools: { search: counted }, stop: [maxSteps(10), maxToolCalls(5)] }))
      .edges({ work: "done" })
    const result = await p.run({}, { models: { smart: model } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: "maxToolCalls(5)" } })
    expect(ran).toBe(4)
  })

  it("budget({ tokens }) stops once the agent's calls reach it", async () => {
    const result = await researcher([maxSteps(50), budget({ tokens: 400 })]).run({ topic: "x" }, { models: { smart: runaway() } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: "budget(tokens: 400)" } })
    expect(result.usage.inputTokens + result.usage.outputTokens).toBe(450)
  })

  it("budget({ usd }) counts the price of each call", async () => {
    const model = scriptedModel([{ toolCalls: [{ name: "search", arguments: { query: "q" } }], usage: { inputTokens: 1_000_000, outputTokens: 0 } }], {
      repeat: true,
      name: "priced",
    })
    const result = await researcher([maxSteps(50), budget({ usd: 2.5 })]).run(
      { topic: "x" },
      { models: { smart: model }, prices: { "scripted:priced": { input: 1, output: 1 } } },
    )
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: "budget(usd: 2.5)" } })
    expect(model.calls).toHaveLength(3)
  })

  it("hasToolCall(name) stops after that tool has run", async () => {
    const model = scriptedModel([
      { toolCalls: [{ name: "search", arguments: { query: "q" } }] },
      { toolCalls: [{ name: "handOff", arguments: { to: "billing" } }] },
      "never asked",
    ])
    const journal = memoryJournal()
    const result = await researcher([maxSteps(10), hasToolCall("handOff")]).run({ topic: "x" }, { models: { smart: model }, journal, runId: "h" })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: "hasToolCall(handOff)" } })
    expect(model.calls).toHaveLength(2)
    expect((await journal.read("h")).filter((entry) => entry.type === "tool.called").map((entry) => (entry as { tool: string }).tool)).toEqual([
      "search",
      "handOff",
    ])
  })

  it("when(name, predicate) stops on any condition over the agent's tally", async () => {
    const rule = when<AgentStopContext>("tooManyMessages", ({ messages }) => messages.length > 6)
    const result = await researcher([maxSteps(50), rule]).run({ topic: "x" }, { models: { smart: runaway() } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: "tooManyMessages" } })
  })

  it("and / or / not compose rules and name the composition", async () => {
    const composite = or(and(maxSteps(2), not(hasToolCall("handOff"))), budget({ tokens: 10_000 }))
    expect(composite.name).toBe("or(and(maxSteps(2), not(hasToolCall(handOff))), budget(tokens: 10000))")
    const result = await researcher([composite]).run({ topic: "x" }, { models: { smart: runaway() } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { rule: composite.name } })
    expect(and<AgentStopContext>().fires({} as AgentStopContext)).toBe(false)
  })

  it("a run-level budget stops a runaway agent (run option over the pipeline's)", async () => {
    const p = pipeline({ id: "p", input: z.object({}), budget: { tokens: 1_000_000 } })
      .step(
        "warmup",
        fn(() => "ready"),
      )
      .step("loop", agent({ model: "smart", prompt: () => "go", tools: { search }, stop: [maxSteps(1_000)] }))
      .edges({ warmup: "loop", loop: "done" })
    const model = runaway()
    const result = await p.run({}, { models: { smart: model }, budget: { tokens: 600 } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { step: "loop", rule: "run budget(tokens: 600)" } })
    expect(model.calls).toHaveLength(4)
    const fromPipeline = await p.run(
      {},
      {
        models: {
          smart: scriptedModel([{ toolCalls: [{ name: "search", arguments: { query: "q" } }], usage: { inputTokens: 400_000, outputTokens: 0 } }], {
            repeat: true,
          }),
        },
      },
    )
    expect(fromPipeline).toMatchObject({ status: "stopped", stoppedBy: { rule: "run budget(tokens: 1000000)" } })
  })

  it("rejects impossible rule arguments with a RangeError naming the rule", () => {
    expect(() => maxSteps(0)).toThrow(/maxSteps\(n\)/)
    expect(() => maxToolCalls(1.5)).toThrow(/maxToolCalls\(n\)/)
    expect(() => budget({})).toThrow(/at least one limit/)
    expect(() => budget({ usd: -1 })).toThrow(/budget\(\{ usd \}\)/)
  })
})
