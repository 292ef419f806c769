import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, fn, maxSteps, memoryJournal, pipeline, replay, toEvalRow, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

// An agent that refunds through a tool a person approves first, then replies.
const build = () => {
  const refunded: number[] = []
  const refund = tool({
    name: "refund",
    input: z.object({ amount: z.number() }),
    approval: true,
    run: ({ amount }) => {
      refunded.push(amount)
      return { refunded: amount }
    },
  })
  const p = pipeline({ id: "refunds", input: z.object({ ticket: z.string() }) })
    .step("helper", agent({ model: "smart", tools: { refund }, prompt: ({ input }) => input.ticket, stop: [maxSteps(4)] }))
    .step(
      "reply",
      fn(({ steps }) => `reply: ${steps.helper}`),
    )
    .edges({ helper: "reply", reply: "done" })
  return { p, refunded }
}

const recordRun = async () => {
  const { p } = build()
  const journal = memoryJournal()
  const asks = scriptedModel([{ toolCalls: [{ id: "r1", name: "refund", arguments: { amount: 30 } }] }])
  const paused = await p.run({ ticket: "refund 30" }, { journal, runId: "a1", models: { smart: asks } })
  expect(paused).toMatchObject({ status: "awaiting-human", step: "helper" })
  expect(await p.decide("a1", "helper", { action: "approve" }, { journal, models: { smart: scriptedModel(["refunded 30"]) } })).toMatchObject({
    status: "done",
  })
  return journal.read("a1")
}

describe("replay and eval rows answer tool approvals as they were answered", () => {
  it("replays an unchanged pipeline whose agent asked for an approval identically", async () => {
    const entries = await recordRun()
    const { p, refunded } = build()
    const report = await replay(p, entries)
    expect(report.divergence).toBeUndefined()
    expect(report).toMatchObject({ identical: true, result: { status: "done", output: "reply: refunded 30" } })
    expect(refunded).toEqual([30])
    expect(report.entries.filter((entry) => entry.type === "human.decided")).toMatchObject([{ step: "helper", decision: { action: "approve" } }])
  })

  it("toEvalRow carries the approval decision", async () => {
    const row = toEvalRow(await recordRun())
    expect(row).toMatchObject({ input: { ticket: "refund 30" }, expected: "reply: refunded 30", decisions: { helper: { action: "approve" } } })
  })
})
