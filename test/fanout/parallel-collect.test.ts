import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, memoryJournal, parallel, pipeline } from "../../src/index.ts"

describe("parallel({ onBranchError })", () => {
  let slowRuns = 0
  const collecting = (onBranchError: "collect" | "fail-fast") =>
    pipeline({ id: `collect-${onBranchError}`, input: z.object({}) })
      .step(
        "fan",
        parallel({
          onBranchError,
          branches: {
            broken: fn((): number => {
              throw new Error("no data")
            }),
            slow: fn(async () => {
              slowRuns++
              await new Promise((resolve) => setTimeout(resolve, 30))
              return "fine"
            }),
          },
        }),
      )
      .edges({ fan: "done" })

  it("with collect runs every branch and gives the join an ItemResult per branch", async () => {
    slowRuns = 0
    const journal = memoryJournal()
    const result = await collecting("collect").run({}, { journal })
    expect(result).toMatchObject({
      status: "done",
      output: {
        broken: { ok: false, error: { _tag: "StepCodeError", step: "fan.broken", message: expect.stringContaining("no data") } },
        slow: { ok: true, value: "fine" },
      },
    })
    expect(slowRuns).toBe(1)
    // The failure is journaled as the branch's own, and a resume takes it from there without running anything again.
    const entries = await journal.read(result.runId)
    expect(entries.find((entry) => entry.type === "step.failed")).toMatchObject({ step: "fan.broken" })
  })

  it("with fail-fast (the default) fails the step at the first failed branch", async () => {
    const result = await collecting("fail-fast").run({})
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "fan.broken" } })
  })

  it("refuses an unknown policy when the step is added, naming the field", () => {
    expect(() => pipeline({ id: "p", input: z.object({}) }).step("fan", parallel({ onBranchError: "ignore" as never, branches: { a: fn(() => 1) } }))).toThrow(
      /parallel\(\{ ... \}\)\.onBranchError must be "fail-fast" or "collect", got "ignore"/,
    )
  })
})
