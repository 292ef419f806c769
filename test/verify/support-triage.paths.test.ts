// Path tests for machines/support-triage in a few lines: every way through the pipeline, run on its
// machine without a model. Copy this for your own pipeline.
import { describe, expect, it } from "vitest"
import { ReviewDecision, supportTriage } from "../../machines/support-triage.machine.ts"
import { coverage } from "../../src/index.ts"
import { pathCases } from "../../src/testing/index.ts"

const cases = await pathCases(supportTriage, { fixtures: { review: ReviewDecision } })

describe("support-triage paths", () => {
  it.each(cases)("$name", async ({ run, final }) => {
    expect(await run()).toMatchObject({ ok: true, reached: final })
  })

  it("takes every transition of the machine", () => {
    expect(
      coverage(
        supportTriage,
        cases.map((test) => test.path),
      ).uncovered,
    ).toEqual([])
  })
})
