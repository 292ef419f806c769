import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import supportTriage, { ReviewDecision } from "../../machines/support-triage.machine.ts"
import { fn, maxVisits, type Pipeline, paths, pipeline, simulate, simulatePath } from "../../src/index.ts"

interface MachineModule {
  readonly default: Pipeline<unknown, {}>
  readonly sampleDecisions?: Readonly<Record<string, unknown>>
}
const directory = fileURLToPath(new URL("../../machines/", import.meta.url))
const files = readdirSync(directory)
  .filter((file) => file.endsWith(".machine.ts"))
  .sort()
const modules = await Promise.all(files.map(async (file) => [file, (await import(pathToFileURL(join(directory, file)).href)) as MachineModule] as const))

describe("simulate", () => {
  it.each(modules)("runs every path of machines/%s to its final state, taking every transition", async (_file, module) => {
    const { runs, coverage } = await simulate(module.default, { fixtures: module.sampleDecisions ?? {} })
    expect(runs.filter((run) => !run.ok)).toEqual([])
    expect(new Set(runs.map((run) => run.reached))).toEqual(new Set(runs.map((run) => run.path.final)))
    expect(runs.map((run) => run.reached)).toEqual(expect.arrayContaining(["done", "failed"]))
    expect(runs.every((run) => run.transitions.join() === run.path.transitions.join())).toBe(true)
    expect(coverage.uncovered).toEqual([])
  })

  it("reaches stopped when a stop rule ends the run", async () => {
    const p = pipeline({ id: "loop", input: z.object({}) })
      .step(
        "draft",
        fn(() => "text"),
      )
      .edges({ draft: { next: "draft", stop: maxVisits(2) } })
    const { runs } = await simulate(p, { failures: false })
    expect(runs.map((run) => [run.path.name, run.reached, run.ok])).toEqual([["draft → draft → stopped (stop rule of draft)", "stopped", true]])
  })

  it("fails a path the machine does not follow, saying why", async () => {
    const found = await paths(supportTriage, { fixtures: { review: ReviewDecision } })
    const reviewed = found.find((path) => path.name === "classify → review → answer → done")
    if (reviewed === undefined) throw new Error("no reviewed path")
    const wrongEnd = await simulatePath(supportTriage, { ...reviewed, final: "stopped" })
    expect(wrongEnd).toMatchObject({ ok: false, reached: "done", problem: 'expected to end in "stopped"' })
    const noDecision = await simulatePath(supportTriage, { ...reviewed, steps: reviewed.steps.filter((step) => step.step !== "review") })
    expect(noDecision).toMatchObject({ ok: false, reached: "review", problem: expect.stringContaining("stuck waiting") })
    const badDecision = await simulatePath(supportTriage, {
      ...reviewed,
      steps: reviewed.steps.map((step) => (step.step === "review" ? { ...step, event: { type: "review.decide", decision: { kind: "nonsense" } } } : step)),
    })
    expect(badDecision).toMatchObject({ ok: false, reached: "review", problem: expect.stringContaining("ignored") })
  })
})
