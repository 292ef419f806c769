import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, human, maxVisits, PipelineDefinitionError, pipeline, route } from "../../src/index.ts"

const input = z.object({ n: z.number() })
const start = () => pipeline({ id: "broken", input })

const problemsOf = (build: () => unknown) => {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineDefinitionError)
    return (error as PipelineDefinitionError).problems
  }
  throw new Error("expected the pipeline to be rejected")
}

describe("pipeline build errors", () => {
  it("rejects a step without an edge, naming the step", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .step(
          "b",
          fn(() => 2),
        )
        .edges({ a: "b" } as never),
    )
    expect(problems).toEqual([expect.objectContaining({ steps: ["b"], message: expect.stringContaining('step "b" has no edge') })])
  })

  it("rejects an unreachable step, naming it", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .step(
          "orphan",
          fn(() => 2),
        )
        .edges({ a: "done", orphan: "done" }),
    )
    expect(problems).toEqual([expect.objectContaining({ steps: ["orphan"], message: expect.stringContaining('"orphan"') })])
  })

  it("rejects a loop without a stop rule, naming every step of the loop", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "draft",
          fn(() => "text"),
        )
        .step(
          "critique",
          fn(() => ({ ok: false })),
        )
        .edges({ draft: "critique", critique: route(["draft", "done"], ({ output }) => (output.ok ? "done" : "draft")) }),
    )
    expect(problems).toHaveLength(1)
    expect(problems[0]?.steps).toEqual(["draft", "critique"])
    expect(problems[0]?.message).toMatch(/loop without a stop rule: draft → critique → draft/)
  })

  it("rejects a self-loop without a stop rule", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "poll",
          fn(() => 1),
        )
        .edges({ poll: route(["poll", "done"], () => "poll") }),
    )
    expect(problems[0]?.steps).toEqual(["poll"])
  })

  it("accepts the same loop once one of its steps has a stop rule", () => {
    const p = start()
      .step(
        "draft",
        fn(() => "text"),
      )
      .step(
        "critique",
        fn(() => ({ ok: false })),
      )
      .edges({ draft: { next: "critique", stop: maxVisits(3) }, critique: route(["draft", "done"], ({ output }) => (output.ok ? "done" : "draft")) })
    expect(p.stepNames).toEqual(["draft", "critique"])
  })

  it("rejects an edge to a step that does not exist (when types are bypassed)", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .edges({ a: "nowhere" } as never),
    )
    expect(problems[0]).toEqual({ steps: ["a", "nowhere"], message: expect.stringContaining('goes to "nowhere"') })
  })

  it("rejects edges for steps that were never declared", () => {
    const problems = problemsOf(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .edges({ a: "done", ghost: "done" } as never),
    )
    expect(problems[0]?.message).toContain('"ghost", which is not a step')
  })

  it("rejects duplicate and reserved step names immediately", () => {
    expect(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .step(
          "a" as never,
          fn(() => 2),
        ),
    ).toThrow(/declared twice/)
    expect(() =>
      start().step(
        "done",
        fn(() => 1),
      ),
    ).toThrow(/reserved/)
    expect(() =>
      start().step(
        "has.dot",
        fn(() => 1),
      ),
    ).toThrow(/must start with a letter/)
  })

  it("rejects a timeout edge on a step that cannot time out", () => {
    const problems = problemsOf(() =>
      start()
        .step("ask", human({ decision: z.object({ ok: z.boolean() }) }))
        .step(
          "fallback",
          fn(() => 0),
        )
        .edges({ ask: { next: "done", timeout: "fallback" }, fallback: "done" }),
    )
    expect(problems[0]).toEqual({ steps: ["ask"], message: expect.stringContaining("only for human steps that set a timeout") })
  })

  it("rejects bad durations and policies with the step's name", () => {
    expect(() => start().step("ask", human({ decision: z.boolean(), timeout: "soon" as never }))).toThrow(
      /step "ask": human\(\{ ... \}\).timeout must be a duration .*, got "soon"/,
    )
    expect(() =>
      start()
        .step(
          "a",
          fn(() => 1, { policy: { retry: { attempts: 0 } } }),
        )
        .edges({ a: "done" }),
    ).toThrow(/step "a": fn\(run, \{ ... \}\).policy.retry.attempts must be an integer >= 1, got 0/)
  })

  it("rejects something that is not a step", () => {
    expect(() => start().step("a", { kind: "teleport" } as never)).toThrow(/not a step definition/)
  })
})
