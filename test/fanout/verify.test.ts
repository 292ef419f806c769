import { describe, expect, it } from "vitest"
import { z } from "zod"
import { check, coverage, fn, map, maxVisits, parallel, paths, pipeline, simulate, subpipeline, toMermaid } from "../../src/index.ts"

const neverDone = pipeline({ id: "never-done", input: z.object({}) })
  .step(
    "spin",
    fn(() => "again"),
  )
  .edges({ spin: { next: "spin", stop: maxVisits(2) } })

const fanout = pipeline({ id: "fanout", input: z.object({ docs: z.array(z.string()) }) })
  .step("extract", parallel({ branches: { words: fn(({ input }) => input.docs.length), first: fn(({ input }) => input.docs[0] ?? "") } }))
  .step("summaries", map({ over: ({ input }) => input.docs, each: fn(({ input }: { input: string }) => input.length), concurrency: 4 }))
  .step(
    "manual",
    fn(() => "manual"),
  )
  .edges({ extract: { next: "summaries", error: "manual" }, summaries: "done", manual: "done" })

describe("verification of fan-out steps", () => {
  it("paths and coverage treat a parallel step as one step with its routes and error edge", async () => {
    const found = await paths(fanout, { input: { docs: ["a"] } })
    expect(found.map((path) => path.name)).toEqual([
      "extract → summaries → done",
      "extract (error) → manual → done",
      "extract → summaries (error) → failed",
      "extract (error) → manual (error) → failed",
    ])
    expect(coverage(fanout, found)).toMatchObject({ covered: 6, total: 6, uncovered: [] })
  })

  it("simulates every path on the real machine, parallel regions included", async () => {
    const { runs, coverage: covered } = await simulate(fanout, { input: { docs: ["a"] } })
    expect(runs.filter((run) => !run.ok)).toEqual([])
    expect(covered.uncovered).toEqual([])
  })

  it("draws a parallel step as one node with its routes", () => {
    const diagram = toMermaid(fanout)
    expect(diagram).toContain("    extract : parallel\n")
    expect(diagram).toContain("    extract --> summaries\n")
    expect(diagram).toContain("    extract --> manual : error\n")
    expect(diagram).toContain("    summaries : map\n")
  })

  it("check() flags a map with no concurrency cap over a list of unknown length", () => {
    const build = (options: { concurrency?: number; maxItems?: number }) =>
      pipeline({ id: "uncapped", input: z.object({ docs: z.array(z.string()) }) })
        .step("summaries", map({ over: ({ input }) => input.docs, each: fn(({ input }: { input: string }) => input), ...options }))
        .edges({ summaries: "done" })
    expect(check(build({}))).toEqual([expect.objectContaining({ severity: "warning", code: "map-without-concurrency", steps: ["summaries"] })])
    expect(check(build({ concurrency: 8 }))).toEqual([])
    expect(check(build({ maxItems: 100 }))).toEqual([])
    expect(check(fanout)).toEqual([])
  })

  it("check() flags a parallel branch or a map item that is a pipeline with no way to done", () => {
    const p = pipeline({ id: "stuck", input: z.object({ docs: z.array(z.string()) }) })
      .step("fan", parallel({ branches: { ok: fn(() => 1), stuck: subpipeline(neverDone, { input: () => ({}) }) } }))
      .step("each", map({ over: ({ input }) => input.docs.map(() => ({})), each: neverDone, concurrency: 2 }))
      .edges({ fan: "each", each: "done" })
    const findings = check(p)
    expect(findings.map((finding) => [finding.severity, finding.code, finding.steps])).toEqual([
      ["error", "branch-no-way-out", ["fan.stuck"]],
      ["error", "branch-no-way-out", ["each[]"]],
    ])
    expect(findings[0]?.message).toBe('parallel branch "fan.stuck" runs pipeline "never-done", which has no path to "done": the step can never succeed')
  })
})
