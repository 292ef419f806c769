import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, fn, human, maxSteps, pipeline, ResumeError, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const makeRefund = () => {
  const calls = { prepare: 0 }
  const p = pipeline({ id: "refund", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input }) => {
        calls.prepare += 1
        return input.amount
      }),
    )
    .step("approve", human({ decision: z.object({ ok: z.boolean() }) }))
    .edges({ prepare: "approve", approve: "done" })
  return { p, calls }
}

describe("a run() paused without a journal is continued by decide() in the same process", () => {
  it("a human step: decide without a journal continues the run, nothing before the pause runs again", async () => {
    const { p, calls } = makeRefund()
    const paused = await p.run({ amount: 5 })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "approve" })
    expect(await p.decide(paused.runId, "approve", { ok: true })).toMatchObject({ status: "done", output: { ok: true }, steps: { prepare: 5 } })
    expect(calls.prepare).toBe(1)
    // Once it ended it is forgotten: nothing is kept for runs that finish.
    await expect(p.decide(paused.runId, "approve", { ok: false })).rejects.toMatchObject({ name: "ResumeError", reason: "unknown-run", runId: paused.runId })
  })

  it("a tool call an agent asks approval for", async () => {
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
    const p = pipeline({ id: "agentic", input: z.object({}) })
      .step("helper", agent({ model: "smart", tools: { refund }, prompt: () => "help", stop: [maxSteps(4)] }))
      .edges({ helper: "done" })
    const model = scriptedModel([{ toolCalls: [{ id: "r1", name: "refund", arguments: { amount: 30 } }] }, "refunded 30"])
    const paused = await p.run({}, { models: { smart: model } })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "helper" })
    expect(refunded).toEqual([])
    expect(await p.decide(paused.runId, "helper", { action: "approve" }, { models: { smart: model } })).toMatchObject({
      status: "done",
      output: "refunded 30",
    })
    expect(refunded).toEqual([30])
  })

  it("a run this process never paused, without a journal, is refused naming the run", async () => {
    const { p } = makeRefund()
    const error = await p.decide("elsewhere-1", "approve", { ok: true }).catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(ResumeError)
    expect(error).toMatchObject({
      reason: "unknown-run",
      message: "cannot resume run elsewhere-1: no journal was given, and no run paused in this process has this id (pass the journal it was run with)",
    })
  })
})
