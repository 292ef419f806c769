import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, DecisionError, fn, map, maxSteps, memoryJournal, pipeline, subpipeline, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

// Each ticket of a batch goes to an agent in its own sub-pipeline; refunds over 50 wait for a person.
const makeBatch = () => {
  const refunded: Array<{ orderId: string; amount: number }> = []
  const issueRefund = tool({
    name: "issueRefund",
    input: z.object({ orderId: z.string(), amount: z.number().positive() }),
    approval: ({ amount }) => amount > 50,
    run: (args) => (refunded.push(args), { refunded: args.amount }),
  })
  const ticket = pipeline({ id: "ticket", input: z.object({ orderId: z.string(), amount: z.number() }) })
    .step("refund", agent({ model: "smart", prompt: ({ input }) => `${input.orderId} ${input.amount}`, tools: { issueRefund }, stop: [maxSteps(4)] }))
    .edges({ refund: "done" })
  const batch = pipeline({ id: "ticket-batch", input: z.object({ tickets: z.array(z.object({ orderId: z.string(), amount: z.number() })) }) })
    .step(
      "tickets",
      map({
        over: ({ input }) => input.tickets,
        each: subpipeline(ticket, { input: ({ input }: { input: { orderId: string; amount: number } }) => input }),
        maxItems: 10,
      }),
    )
    .step(
      "summary",
      fn(({ steps }) => (steps.tickets ?? []).join(" | ")),
    )
    .edges({ tickets: "summary", summary: "done" })
  return { batch, refunded }
}

// The agent calls issueRefund with the amount of its prompt, then answers with the tool's result.
const model = () =>
  scriptedModel(
    [
      (request) => {
        const last = request.messages.at(-1)
        if (last?.role === "tool") return `done: ${last.content}`
        const [orderId, amount] = String(request.messages.find((message) => message.role === "user")?.content).split(" ")
        return { toolCalls: [{ id: `pay-${orderId}`, name: "issueRefund", arguments: { orderId, amount: Number(amount) } }] }
      },
    ],
    { repeat: true },
  )

describe("tool approvals of agents inside nested pipelines inside a map", () => {
  it("pauses only the items whose call needs a person, addressed by the agent's path, and takes their decisions in one batch", async () => {
    const { batch, refunded } = makeBatch()
    const journal = memoryJournal()
    const tickets = [
      { orderId: "A", amount: 80 },
      { orderId: "B", amount: 20 },
      { orderId: "C", amount: 90 },
    ]
    const paused = await batch.run({ tickets }, { journal, models: { smart: model() } })
    if (paused.status !== "awaiting-human") throw new Error(`not paused: ${paused.status}`)
    expect(paused.pending?.map((wait) => wait.path)).toEqual(["tickets[0].refund", "tickets[2].refund"])
    expect(paused.pending?.[0]?.prompt).toContain('issueRefund({"orderId":"A","amount":80})')
    expect(paused.pending?.[0]?.decision).toMatchObject({
      type: "object",
      required: ["action"],
      properties: { action: { enum: ["approve", "reject", "edit"] } },
    })
    // The small refund went through meanwhile.
    expect(refunded).toEqual([{ orderId: "B", amount: 20 }])
    await expect(
      batch.decide(
        paused.runId,
        { "tickets[0].refund": { action: "approve" }, "tickets[2].refund": { action: "maybe" } },
        { journal, models: { smart: model() } },
      ),
    ).rejects.toBeInstanceOf(DecisionError)
    const done = await batch.decide(
      paused.runId,
      { "tickets[0].refund": { action: "approve" }, "tickets[2].refund": { action: "reject", reason: "too much" } },
      { journal, models: { smart: model() } },
    )
    expect(done).toMatchObject({ status: "done" })
    expect(refunded).toEqual([
      { orderId: "B", amount: 20 },
      { orderId: "A", amount: 80 },
    ])
    // Each pause journaled once, each decision once, across the pause and the resume.
    const entries = await journal.read(paused.runId)
    const counted = (type: string) => entries.filter((entry) => entry.type === type).map((entry) => (entry as { step: string }).step)
    expect(counted("human.waiting")).toEqual(["tickets[0].refund", "tickets[2].refund"])
    expect(counted("human.decided").sort()).toEqual(["tickets[0].refund", "tickets[2].refund"])
    expect(done.status === "done" ? done.output : "").toMatch(/^done: \{"refunded":80\} \| done: \{"refunded":20\} \| done: .*too much/)
  })
})
