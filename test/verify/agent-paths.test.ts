import { getShortestPaths } from "@xstate/graph"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, check, coverage, fn, hasToolCall, maxSteps, paths, pipeline, route, simulate, tool } from "../../src/index.ts"

const search = tool({ name: "search", input: z.object({ q: z.string() }), run: () => "r" })
const publish = tool({ name: "publish", input: z.object({ text: z.string() }), approval: true, run: () => "published" })

const withAgent = pipeline({ id: "writer", input: z.object({ topic: z.string() }) })
  .step(
    "plan",
    fn(({ input }) => `plan for ${input.topic}`),
  )
  .step(
    "write",
    agent({
      model: "smart",
      prompt: ({ steps }) => String(steps.plan),
      tools: { search, publish },
      output: z.object({ ok: z.boolean() }),
      stop: [maxSteps(3), hasToolCall("publish")],
    }),
  )
  .step(
    "notify",
    fn(() => "sent"),
  )
  .step(
    "apologize",
    fn(() => "sorry"),
  )
  .edges({
    plan: "write",
    write: { next: route(["notify", "apologize"], ({ output }) => (output.ok ? "notify" : "apologize")), stopped: "apologize", error: "apologize" },
    notify: "done",
    apologize: "done",
  })

describe("agent sub-chart verification", () => {
  it("check() finds nothing wrong with an agent step but its approval without a deadline", () => {
    expect(check(withAgent)).toEqual([expect.objectContaining({ severity: "warning", code: "approval-without-timeout", steps: ["write"] })])
  })

  it("paths reach every state of the sub-chart and cover every transition", async () => {
    const found = await paths(withAgent)
    const states = new Set(found.flatMap((path) => path.steps.flatMap((move) => [move.step, move.target])))
    for (const state of ["write.thinking", "write.callingTools", "write.awaitingApproval", "notify", "apologize", "done"]) expect(states).toContain(state)
    const covered = coverage(withAgent, found)
    expect(covered.uncovered).toEqual([])
    // thinking: → notify, → apologize (route), → apologize (stop rule), → callingTools, → awaitingApproval, → apologize (error);
    // callingTools: → thinking, → apologize (stop rule), → apologize (too many tool errors / error); awaitingApproval: → callingTools.
    expect(covered.total).toBeGreaterThanOrEqual(12)
    const names = found.map((path) => path.name)
    expect(names).toContain("plan → write.thinking → notify → done")
    expect(names.some((name) => name.includes("write.awaitingApproval → write.callingTools → apologize (stop rule of write)"))).toBe(true)
  })

  it("simulate runs every path through the real sub-chart, approvals included", async () => {
    const { runs, coverage: covered } = await simulate(withAgent)
    expect(runs.filter((run) => !run.ok)).toEqual([])
    expect(runs.some((run) => run.transitions.includes("write.awaitingApproval --decide--> write.callingTools"))).toBe(true)
    expect(covered.uncovered).toEqual([])
  })

  it("@xstate/graph itself reaches the sub-chart states with done events", () => {
    const output = (calls: unknown[]) => ({ turn: 1, text: "", calls, usage: {}, elapsedMs: 0, runUsage: {}, runElapsedMs: 0 })
    const shortest = getShortestPaths(withAgent.machine, {
      input: { input: { topic: "t" } },
      events: [
        { type: "xstate.done.actor.plan", output: { output: "p", next: "write" } },
        { type: "xstate.done.actor.write.thinking", output: output([{ id: "c", name: "publish", arguments: {}, approval: "needed" }]) },
        { type: "write.decide", decision: { action: "approve" } },
      ] as never,
    })
    const values = shortest.map((path) => JSON.stringify(path.state.value))
    expect(values).toContain(JSON.stringify({ write: "thinking" }))
    expect(values).toContain(JSON.stringify({ write: "awaitingApproval" }))
    expect(values).toContain(JSON.stringify({ write: "callingTools" }))
  })
})
