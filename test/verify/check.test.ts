import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import { createMachine } from "xstate"
import { z } from "zod"
import { check, fn, human, maxVisits, type Pipeline, PipelineDefinitionError, pipeline, route } from "../../src/index.ts"

const directory = fileURLToPath(new URL("../../machines/", import.meta.url))
const files = readdirSync(directory)
  .filter((file) => file.endsWith(".machine.ts"))
  .sort()
const machines = await Promise.all(
  files.map(async (file) => [file, (await import(pathToFileURL(join(directory, file)).href)).default as Pipeline<unknown, {}>] as const),
)

const start = () => pipeline({ id: "checked", input: z.object({ n: z.number() }) })
const Approval = z.object({ approve: z.boolean() })
const codes = (findings: ReturnType<typeof check>) => findings.map((finding) => [finding.severity, finding.code, finding.steps])

// A built machine with its config edited, as a hand-assembled or patched chart would be.
type States = Record<string, Record<string, unknown>>
const edited = (p: { readonly machine: { readonly config: unknown } }, edit: (states: States) => void) => {
  const config = structuredClone({ ...(p.machine.config as { states: States }), context: undefined, output: undefined })
  edit(config.states)
  return { machine: createMachine(config as never) }
}

describe("check", () => {
  it.each(machines)("finds nothing wrong in machines/%s", (_file, p) => {
    expect(check(p)).toEqual([])
  })

  it("warns about a human step without a timeout, naming it and saying how to fix it", () => {
    const p = start()
      .step("review", human({ decision: Approval }))
      .edges({ review: "done" })
    expect(check(p)).toEqual([
      {
        severity: "warning",
        code: "human-without-timeout",
        steps: ["review"],
        message: expect.stringContaining('"review"'),
        fix: expect.stringContaining("edges.review.timeout"),
      },
    ])
  })

  it("warns about a deadline that fails the run", () => {
    const p = start()
      .step("review", human({ decision: Approval, timeout: "1h" }))
      .edges({ review: "done" })
    expect(codes(check(p))).toEqual([["warning", "human-timeout-fails", ["review"]]])
  })

  it("warns about a loop whose only exit is its stop rule", () => {
    const p = start()
      .step(
        "poll",
        fn(() => "pending"),
      )
      .edges({ poll: { next: "poll", stop: maxVisits(3) } })
    expect(codes(check(p))).toEqual([["warning", "never-done", ["poll"]]])
  })

  it("reports an unreachable step as an error", () => {
    const p = start()
      .step(
        "a",
        fn(() => 1),
      )
      .step(
        "b",
        fn(() => 2),
      )
      .edges({ a: "b", b: "done" })
    const broken = edited(p, (states) => {
      ;(states["a"]?.["invoke"] as { onDone: Array<{ target: string }> }).onDone[0] = { target: "done" }
    })
    expect(codes(check(broken))).toEqual([["error", "unreachable-step", ["b"]]])
    expect(check(broken)[0]?.fix).toMatch(/route to "b"/)
  })

  it("reports a state with no way out and a loop without a stop rule as errors", () => {
    const p = start()
      .step("wait", human({ decision: Approval }))
      .edges({ wait: "done" })
    const broken = edited(p, (states) => {
      states["wait"] = { ...states["wait"], on: { "wait.decide": [{ target: "wait", reenter: true }] } }
    })
    expect(codes(check(broken))).toEqual([
      ["error", "no-way-out", ["wait"]],
      ["error", "loop-without-stop-rule", ["wait"]],
      ["warning", "human-without-timeout", ["wait"]],
    ])
  })

  it("reports a loop whose stop rule was taken out", () => {
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
    expect(check(p)).toEqual([])
    const broken = edited(p, (states) => {
      const invoke = states["critique"]?.["invoke"] as { onDone: Array<{ guard?: { type: string } }> }
      invoke.onDone = invoke.onDone.filter((transition) => transition.guard?.type !== "stops")
    })
    expect(codes(check(broken))).toEqual([["error", "loop-without-stop-rule", ["draft", "critique"]]])
  })

  it("leaves to the builder what it refuses outright (the same defects, caught earlier)", () => {
    expect(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .step(
          "b",
          fn(() => 2),
        )
        .edges({ a: "done", b: "done" }),
    ).toThrow(PipelineDefinitionError)
    expect(() =>
      start()
        .step(
          "a",
          fn(() => 1),
        )
        .edges({ a: "a" }),
    ).toThrow(/loop without a stop rule/)
  })
})
