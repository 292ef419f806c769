import { execFile } from "node:child_process"
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import supportTriage, { Classification, ReviewDecision } from "../../machines/support-triage.machine.ts"
import { coverage, fn, human, maxVisits, type Pipeline, paths, pipeline, route, sampleValues } from "../../src/index.ts"

interface MachineModule {
  readonly default: Pipeline<unknown, {}>
  readonly samples: ReadonlyArray<{ readonly input: unknown }>
  readonly sampleDecisions?: Readonly<Record<string, unknown>>
}
const directory = fileURLToPath(new URL("../../machines/", import.meta.url))
const files = readdirSync(directory)
  .filter((file) => file.endsWith(".machine.ts"))
  .sort()
const modules = await Promise.all(files.map(async (file) => [file, (await import(pathToFileURL(join(directory, file)).href)) as MachineModule] as const))

describe("paths", () => {
  describe.each(modules)("machines/%s", (_file, module) => {
    it.each(["shortest", "simple"] as const)("%s paths take every transition of the machine", async (kind) => {
      const found = await paths(module.default, { kind, fixtures: module.sampleDecisions ?? {} })
      expect(coverage(module.default, found).uncovered).toEqual([])
      expect(found.every((path) => path.steps[0]?.step === module.default.stepNames[0])).toBe(true)
    })
  })

  it("gives each path its name, its final state and the events that take it", async () => {
    const found = await paths(supportTriage, { fixtures: { review: ReviewDecision } })
    const reviewed = found.find((path) => path.name === "classify → review → answer → done")
    expect(reviewed?.final).toBe("done")
    expect(reviewed?.steps).toEqual([
      {
        step: "classify",
        event: { type: "xstate.done.actor.classify", output: { output: undefined, next: "review" } },
        target: "review",
        transition: "classify --done--> review",
      },
      {
        step: "review",
        event: { type: "review.decide", decision: expect.objectContaining({ kind: expect.not.stringMatching(/^refund$/) }) },
        target: "answer",
        transition: "review --decide--> answer",
      },
      {
        step: "answer",
        event: { type: "xstate.done.actor.answer", output: { output: undefined, next: "done" } },
        target: "done",
        transition: "answer --done--> done",
      },
    ])
    expect(found.map((path) => path.name)).toContain("classify → review (timeout) → escalate → done")
    expect(found.map((path) => path.name)).toContain("classify → lookupOrder (error) → failed")
    // Done paths first, shortest first.
    expect(found[0]?.name).toBe("classify → answer → done")
  })

  it("generates step outputs and decisions from zod schemas given as fixtures", async () => {
    const found = await paths(supportTriage, { fixtures: { classify: Classification, review: ReviewDecision } })
    const output = (found[0]?.steps[0]?.event as { output?: { output: unknown } }).output?.output
    expect(Classification.safeParse(output).success).toBe(true)
    expect(sampleValues(z.object({ kind: z.enum(["a", "b"]), sure: z.boolean() }))).toEqual([
      { kind: "a", sure: true },
      { kind: "b", sure: true },
      { kind: "a", sure: false },
    ])
  })

  it("generates a human step's decisions from its schema when no fixture is given", async () => {
    const found = await paths(supportTriage, {})
    expect(coverage(supportTriage, found).uncovered).toEqual([])
  })

  it("leaves out the routes of a human step no candidate decision takes, and coverage names them", async () => {
    const found = await paths({ machine: supportTriage.machine, input: supportTriage.input }, {})
    expect(coverage(supportTriage, found).uncovered).toEqual(["review --decide--> lookupOrder", "review --decide--> answer"])
  })

  it("follows a loop until its stop rule ends the run stopped", async () => {
    const p = pipeline({ id: "loop", input: z.object({}) })
      .step(
        "draft",
        fn(() => "text"),
      )
      .step(
        "critique",
        fn(() => ({ ok: false })),
      )
      .edges({ draft: { next: "critique", stop: maxVisits(2) }, critique: route(["draft", "done"], ({ output }) => (output.ok ? "done" : "draft")) })
    const found = await paths(p, { failures: false })
    expect(found.map((path) => [path.name, path.final])).toEqual([
      ["draft → critique → done", "done"],
      ["draft → critique → draft → critique → done", "done"],
      ["draft → critique → draft → critique → stopped (stop rule of draft)", "stopped"],
    ])
    expect(coverage(p, found)).toEqual({ covered: 4, total: 6, uncovered: ["draft --error--> failed", "critique --error--> failed"] })
  })

  it("bounds loops whose stop rule never fires on the fixtures by maxVisits", async () => {
    const p = pipeline({ id: "poll", input: z.object({}) })
      .step(
        "check",
        fn(() => ({ ready: false })),
      )
      .step("wait", human({ decision: z.object({ again: z.boolean() }), timeout: "1h" }))
      .edges({
        check: "wait",
        wait: { next: route(["check", "done"], ({ output }) => (output.again ? "check" : "done")), timeout: "done", stop: maxVisits(50) },
      })
    const found = await paths(p, { kind: "simple", maxVisits: 2, failures: false, fixtures: { wait: z.object({ again: z.boolean() }) } })
    expect(Math.max(...found.map((path) => path.steps.length))).toBeLessThanOrEqual(2 * 2 + 1)
    expect(coverage(p, found).uncovered).toEqual(["check --done--> stopped (stop rule of wait)", "check --error--> failed"])
  })

  it("does not load @xstate/graph when switchboard is imported", async () => {
    const index = pathToFileURL(fileURLToPath(new URL("../../src/index.ts", import.meta.url))).href
    const script = `
      import { registerHooks } from "node:module"
      const resolved = []
      registerHooks({ resolve: (specifier, context, next) => (resolved.push(specifier), next(specifier, context)) })
      await import(${JSON.stringify(index)})
      process.stdout.write(JSON.stringify({ graph: resolved.some((s) => s.includes("@xstate/graph")), xstate: resolved.includes("xstate") }))
    `
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script])
    expect(JSON.parse(stdout)).toEqual({ graph: false, xstate: true })
  })
})
