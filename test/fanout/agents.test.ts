// Agents inside fan-out: an agent is a sub-chart of its own pipeline, so it runs in a map item or
// a branch through a nested pipeline, and a bare agent as an item is refused when the step is built.
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, map, maxSteps, memoryJournal, pipeline, subpipeline, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: ({ id }) => ({ id, stock: id.length }) })

const checkOne = pipeline({ id: "check-one", input: z.object({ id: z.string() }) })
  .step(
    "ask",
    agent({ model: "smart", prompt: ({ input }) => `Check ${input.id}`, tools: { lookup }, output: z.object({ stock: z.number() }), stop: [maxSteps(3)] }),
  )
  .edges({ ask: "done" })

describe("agents in fan-out", () => {
  it("runs an agent per map item through a nested pipeline, journaled under the item's path", async () => {
    const model = scriptedModel(
      [
        (request) => {
          const last = request.messages.at(-1)
          if (last?.role === "tool") return { object: { stock: (JSON.parse(last.content) as { stock: number }).stock } }
          return { toolCalls: [{ name: "lookup", arguments: { id: String(last?.content).replace("Check ", "") } }] }
        },
      ],
      { repeat: true },
    )
    const p = pipeline({ id: "check-all", input: z.object({ ids: z.array(z.string()) }) })
      .step("checks", map({ over: ({ input }) => input.ids.map((id) => ({ id })), each: checkOne, concurrency: 2 }))
      .edges({ checks: "done" })
    const journal = memoryJournal()
    const result = await p.run({ ids: ["a", "bbb"] }, { models: { smart: model }, journal, runId: "r" })
    if (result.status !== "done") throw new Error(JSON.stringify(result))
    expect(result).toMatchObject({ status: "done", output: [{ stock: 1 }, { stock: 3 }] })
    const tools = (await journal.read("r")).flatMap((entry) => (entry.type === "tool.called" ? [entry.step] : []))
    expect(tools.sort()).toEqual(["checks[0].ask", "checks[1].ask"])
  })

  it("refuses a bare agent as a map item, naming the step and the way to do it", () => {
    const bare = checkOne.definitions.get("ask")
    expect(() => pipeline({ id: "bare", input: z.object({}) }).step("checks", map({ over: () => ["a"], each: bare as never, concurrency: 1 }))).toThrow(
      /step "checks": map\(\{ ... \}\).each is an agent step: nest it in a pipeline and use subpipeline/,
    )
    expect(subpipeline(checkOne, { input: () => ({ id: "a" }) }).kind).toBe("pipeline")
  })
})
