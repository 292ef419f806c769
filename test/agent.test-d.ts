import { describe, expectTypeOf, it } from "vitest"
import { z } from "zod"
import {
  type AgentStopContext,
  type ApprovalDecision,
  agent,
  and,
  budget,
  fn,
  hasToolCall,
  maxSteps,
  maxToolCalls,
  maxVisits,
  not,
  or,
  pipeline,
  type ToolCallContext,
  tool,
  when,
} from "../src/index.ts"

const refund = tool({
  name: "refund",
  input: z.object({ orderId: z.string(), amount: z.number() }),
  approval: (args) => {
    expectTypeOf(args).toEqualTypeOf<{ orderId: string; amount: number }>()
    return args.amount > 100
  },
  run: (args, context) => {
    expectTypeOf(context).toEqualTypeOf<ToolCallContext>()
    return { refunded: args.amount }
  },
})

describe("agent types", () => {
  it("types the agent's output from its schema, text without one, and later steps read it", () => {
    pipeline({ id: "t", input: z.object({ ticket: z.string() }) })
      .step(
        "work",
        agent({ model: "smart", prompt: ({ input }) => input.ticket, tools: { refund }, output: z.object({ ok: z.boolean() }), stop: [maxSteps(3)] }),
      )
      .step("text", agent({ model: "smart", prompt: ({ steps }) => String(steps.work?.ok), tools: {}, stop: [maxSteps(1)] }))
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.work).toEqualTypeOf<{ ok: boolean } | undefined>()
          expectTypeOf(steps.text).toEqualTypeOf<string | undefined>()
          return null
        }),
      )
      .edges({ work: { next: "text", stopped: "after" }, text: "after", after: "done" })
  })

  it("types stop rules over the agent's context, composably", () => {
    const rule = when<AgentStopContext<{ ticket: string }, {}>>("long", ({ input, turns }) => input.ticket.length > turns)
    agent({ model: "m", prompt: () => "x", tools: {}, stop: [or(and(maxSteps(3), not(hasToolCall("refund"))), maxToolCalls(4), budget({ usd: 1 })), rule] })
    // @ts-expect-error an agent needs at least one stop rule
    agent({ model: "m", prompt: () => "x", tools: {}, stop: [] })
  })

  it("accepts typed approval decisions on send and decide", () => {
    const p = pipeline({ id: "t", input: z.object({}) })
      .step("work", agent({ model: "smart", prompt: () => "x", tools: { refund }, stop: [maxSteps(2)] }))
      .edges({ work: "done" })
    const handle = p.start({})
    handle.send("work", { action: "approve" })
    handle.send("work", { action: "edit", arguments: { orderId: "A", amount: 1 } })
    // @ts-expect-error a rejection needs its reason
    handle.send("work", { action: "reject" })
    expectTypeOf<ApprovalDecision>().toEqualTypeOf<
      { readonly action: "approve" } | { readonly action: "reject"; readonly reason: string } | { readonly action: "edit"; readonly arguments: unknown }
    >()
    void maxVisits
  })
})
