import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, DecisionError, fn, maxSteps, memoryJournal, pipeline, type RunEvent, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const makeRefunds = () => {
  const refunded: Array<{ orderId: string; amount: number }> = []
  const lookupOrder = tool({ name: "lookupOrder", input: z.object({ orderId: z.string() }), run: ({ orderId }) => ({ orderId, total: 80 }) })
  const issueRefund = tool({
    name: "issueRefund",
    input: z.object({ orderId: z.string(), amount: z.number().positive() }),
    // Small refunds go through; larger ones wait for a person.
    approval: ({ amount }) => amount > 50,
    run: (args) => (refunded.push(args), { refunded: args.amount }),
  })
  const refunds = pipeline({ id: "refunds", input: z.object({ ticket: z.string() }) })
    .step("refund", agent({ model: "smart", prompt: ({ input }) => input.ticket, tools: { lookupOrder, issueRefund }, stop: [maxSteps(6)] }))
    .step(
      "reply",
      fn(({ steps }) => `reply: ${steps.refund}`),
    )
    .edges({ refund: "reply", reply: "done" })
  return { refunds, refunded }
}

const script = (amount: number) =>
  scriptedModel([
    { toolCalls: [{ id: "look", name: "lookupOrder", arguments: { orderId: "A-1" } }] },
    { toolCalls: [{ id: "pay", name: "issueRefund", arguments: { orderId: "A-1", amount } }] },
    (request) => {
      const last = request.messages.at(-1)
      return last?.role === "tool" ? `final: ${last.content}` : "final: ?"
    },
  ])

describe("tool approval", () => {
  it("runs a call the predicate does not pick without asking", async () => {
    const { refunds, refunded } = makeRefunds()
    const result = await refunds.run({ ticket: "refund 30" }, { models: { smart: script(30) } })
    expect(result).toMatchObject({ status: "done", output: 'reply: final: {"refunded":30}' })
    expect(refunded).toEqual([{ orderId: "A-1", amount: 30 }])
  })

  it("pauses awaiting-human with the pending call, and runs it once approved", async () => {
    const { refunds, refunded } = makeRefunds()
    const journal = memoryJournal()
    const paused = await refunds.run({ ticket: "refund 80" }, { models: { smart: script(80) }, journal, runId: "a1" })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "refund", prompt: expect.stringContaining('issueRefund({"orderId":"A-1","amount":80})') })
    expect(refunded).toEqual([])
    const snapshot = (await journal.loadSnapshot("a1")) as { value: unknown; context: { waiting: unknown; agents: Record<string, { pending: unknown[] }> } }
    expect(snapshot.value).toEqual({ refund: "awaitingApproval" })
    expect(snapshot.context.waiting).toMatchObject({ step: "refund" })
    expect(snapshot.context.agents["refund"]?.pending).toEqual([
      { id: "pay", name: "issueRefund", arguments: { orderId: "A-1", amount: 80 }, approval: "needed" },
    ])
    // The model is not asked again on resume: the finished turns come from the journal.
    const model = scriptedModel([(request) => `final: ${request.messages.at(-1)?.content}`])
    const done = await refunds.decide("a1", "refund", { action: "approve" }, { journal, models: { smart: model } })
    expect(done).toMatchObject({ status: "done", output: 'reply: final: {"refunded":80}' })
    expect(refunded).toEqual([{ orderId: "A-1", amount: 80 }])
    expect(model.calls).toHaveLength(1)
  })

  it("feeds a rejection's reason back to the model and never runs the call", async () => {
    const { refunds, refunded } = makeRefunds()
    const handle = refunds.start({ ticket: "refund 80" }, { models: { smart: script(80) } })
    const seen: RunEvent[] = []
    for await (const event of handle.events) {
      seen.push(event)
      if (event.type === "human.waiting") handle.send("refund", { action: "reject", reason: "over the limit without a receipt" })
    }
    expect(await handle.result).toMatchObject({
      status: "done",
      output: "reply: final: A person reviewing this call rejected it: over the limit without a receipt",
    })
    expect(refunded).toEqual([])
    expect(seen.find((event) => event.type === "human.decided")).toMatchObject({ step: "refund", decision: { action: "reject" } })
  })

  it("runs an edited call with the new arguments, re-validated; invalid edits go back to the model as an error", async () => {
    const { refunds, refunded } = makeRefunds()
    const handle = refunds.start({ ticket: "refund 80" }, { models: { smart: script(80) } })
    for await (const event of handle.events) {
      if (event.type === "human.waiting") handle.send("refund", { action: "edit", arguments: { orderId: "A-1", amount: 60 } })
    }
    expect(await handle.result).toMatchObject({ status: "done", output: 'reply: final: {"refunded":60}' })
    expect(refunded).toEqual([{ orderId: "A-1", amount: 60 }])

    const second = makeRefunds()
    const invalid = second.refunds.start({ ticket: "refund 80" }, { models: { smart: script(80) } })
    for await (const event of invalid.events) {
      if (event.type === "human.waiting") invalid.send("refund", { action: "edit", arguments: { orderId: "A-1", amount: -5 } })
    }
    const result = await invalid.result
    expect(result).toMatchObject({ status: "done", output: expect.stringContaining('invalid arguments for tool "issueRefund"') })
    expect(second.refunded).toEqual([])
  })

  it("refuses a malformed decision or one sent while the agent is not waiting, run unchanged", async () => {
    const { refunds } = makeRefunds()
    const handle = refunds.start({ ticket: "refund 80" }, { models: { smart: script(80) } })
    for await (const event of handle.events) {
      if (event.type === "human.waiting") {
        expect(() => handle.send("refund", { action: "reject", reason: "" })).toThrow(DecisionError)
        expect(() => handle.send("refund", { action: "maybe" } as never)).toThrow(/expected "approve", "reject" or "edit"/)
        handle.send("refund", { action: "approve" })
        expect(() => handle.send("refund", { action: "approve" })).toThrow(/not waiting/)
      }
    }
    expect(await handle.result).toMatchObject({ status: "done" })
  })

  it("asks once per call when one turn makes several calls that need approval, and replays them in order on resume", async () => {
    const { refunds, refunded } = makeRefunds()
    const first = scriptedModel([
      {
        toolCalls: [
          { id: "p1", name: "issueRefund", arguments: { orderId: "A-1", amount: 70 } },
          { id: "p2", name: "issueRefund", arguments: { orderId: "A-2", amount: 90 } },
        ],
      },
    ])
    // Resumes replay the first turn from the journal: a model that is asked again fails the run.
    const unused = scriptedModel([])
    const journal = memoryJournal()
    expect(await refunds.run({ ticket: "two" }, { models: { smart: first }, journal, runId: "m" })).toMatchObject({
      status: "awaiting-human",
      prompt: expect.stringContaining("A-1"),
    })
    expect(await refunds.decide("m", "refund", { action: "approve" }, { journal, models: { smart: unused } })).toMatchObject({
      status: "awaiting-human",
      prompt: expect.stringContaining("A-2"),
    })
    expect(refunded).toEqual([])
    expect(unused.calls).toHaveLength(0)
    const last = scriptedModel(["both handled"])
    expect(await refunds.decide("m", "refund", { action: "reject", reason: "duplicate" }, { journal, models: { smart: last } })).toMatchObject({
      status: "done",
      output: "reply: both handled",
    })
    expect(last.calls).toHaveLength(1)
    expect(refunded).toEqual([{ orderId: "A-1", amount: 70 }])
  })
})
