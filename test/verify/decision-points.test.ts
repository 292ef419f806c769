import { describe, expect, it } from "vitest"
import { z } from "zod"
import { check, decisionPoints, fn, human, map, parallel, pipeline, simulate, subpipeline } from "../../src/index.ts"

const Verdict = z.object({ approve: z.boolean() })

const child = pipeline({ id: "two-step-approval", input: z.object({ order: z.string() }) })
  .step("approve", human({ decision: Verdict, timeout: "1h" }))
  .step("confirm", human({ decision: z.boolean() }))
  .edges({ approve: "confirm", confirm: "done" })

const reviewed = pipeline({ id: "reviewed", input: z.object({ orders: z.array(z.string()) }) })
  .step("brief", parallel({ branches: { legal: human({ decision: Verdict }), tech: human({ decision: Verdict }), count: fn(() => 1) } }))
  .step("orders", map({ over: ({ input }) => input.orders, each: subpipeline(child, { input: ({ input }: { input: string }) => ({ order: input }) }) }))
  .step("final", human({ decision: Verdict, timeout: "1d" }))
  .edges({ brief: "orders", orders: "final", final: { next: "done", timeout: "done" } })

describe("decisionPoints()", () => {
  it("lists every place a run can wait for a person, at any depth, and which can wait together", () => {
    const points = decisionPoints(reviewed)
    expect(points.map((point) => [point.path, point.step, point.many, point.timeoutMs])).toEqual([
      ["brief.legal", "brief", false, null],
      ["brief.tech", "brief", false, null],
      ["orders[].approve", "orders", true, 3_600_000],
      ["orders[].confirm", "orders", true, null],
      ["final", "final", false, 86_400_000],
    ])
    const byPath = new Map(points.map((point) => [point.path, point]))
    expect(byPath.get("brief.legal")?.together).toEqual(["brief.tech"])
    expect(byPath.get("orders[].approve")?.together).toEqual(["orders[].confirm"])
    expect(byPath.get("final")?.together).toEqual([])
    expect(byPath.get("brief.tech")?.decision).toMatchObject({ type: "object", properties: { approve: { type: "boolean" } } })
  })

  it("does not pair the sequential steps of one nested pipeline outside a map", () => {
    const once = pipeline({ id: "once", input: z.object({}) })
      .step("order", subpipeline(child, { input: () => ({ order: "x" }) }))
      .edges({ order: "done" })
    expect(decisionPoints(once).map((point) => [point.path, point.together])).toEqual([
      ["order.approve", []],
      ["order.confirm", []],
    ])
  })
})

describe("verification of human steps inside fan-out", () => {
  it("check() warns about a map of approvals with neither maxItems nor a deadline, naming the waits", () => {
    const unbounded = check(reviewed).filter((finding) => finding.code === "map-of-approvals-unbounded")
    expect(unbounded).toEqual([expect.objectContaining({ severity: "warning", steps: ["orders"], message: expect.stringContaining("orders[].confirm") })])
    const bounded = pipeline({ id: "bounded", input: z.object({ amounts: z.array(z.number()) }) })
      .step("approve", map({ over: ({ input }) => input.amounts, each: human({ decision: Verdict }), maxItems: 20 }))
      .edges({ approve: "done" })
    expect(check(bounded).filter((finding) => finding.code === "map-of-approvals-unbounded")).toEqual([])
    const timed = pipeline({ id: "timed", input: z.object({ amounts: z.array(z.number()) }) })
      .step("approve", map({ over: ({ input }) => input.amounts, each: human({ decision: Verdict, timeout: "1h" }) }))
      .edges({ approve: "done" })
    expect(check(timed).filter((finding) => finding.code === "map-of-approvals-unbounded")).toEqual([])
  })

  it("simulate() walks a pipeline whose branches and items wait for people, covering its chart", async () => {
    const { runs, coverage } = await simulate(reviewed, { fixtures: { final: { approve: true } } })
    expect(runs.filter((run) => !run.ok)).toEqual([])
    expect(coverage.uncovered).toEqual([])
  })
})
