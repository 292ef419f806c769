import { z } from "zod"
import { fn, human, pipeline, route, type DurationInput } from "../../src/index.ts"

/** Three plain steps in a row. */
export const chain = pipeline({ id: "durable-chain", input: z.object({ text: z.string() }) })
  .step("trim", fn(({ input }) => input.text.trim()))
  .step("upper", fn(({ steps }) => (steps.trim ?? "").toUpperCase()))
  .step("count", fn(({ steps }) => ({ text: steps.upper ?? "", length: (steps.upper ?? "").length })))
  .edges({ trim: "upper", upper: "count", count: "done" })

/** A route function picks the branch from the first step's output. */
export const routed = pipeline({ id: "durable-routed", input: z.object({ ticket: z.string() }) })
  .step("classify", fn(({ input }) => ({ kind: input.ticket.includes("refund") ? ("refund" as const) : ("other" as const) })))
  .step("refund", fn(({ input }) => `refund for: ${input.ticket}`))
  .step("answer", fn(({ input }) => `answer to: ${input.ticket}`))
  .edges({
    classify: route(["refund", "answer"], ({ output }) => (output.kind === "refund" ? "refund" : "answer")),
    refund: "done",
    answer: "done",
  })

/** Prepare, wait for a typed decision (or its timeout), then pay, reject or escalate. */
export const approval = (timeout: DurationInput = "24h") =>
  pipeline({ id: "durable-approval", input: z.object({ amount: z.number() }) })
    .step("prepare", fn(({ input }) => ({ amount: input.amount, currency: "EUR" })))
    .step("review", human({ decision: z.object({ approve: z.boolean(), note: z.string().optional() }), timeout, prompt: ({ steps }) => `Approve ${steps.prepare?.amount} ${steps.prepare?.currency}?` }))
    .step("pay", fn(({ steps }) => `paid ${steps.prepare?.amount}`))
    .step("reject", fn(({ steps }) => `rejected: ${steps.review?.note ?? "no note"}`))
    .step("escalate", fn(() => "escalated to a manager"))
    .edges({
      prepare: "review",
      review: { next: route(["pay", "reject"], ({ output }) => (output.approve ? "pay" : "reject")), timeout: "escalate" },
      pay: "done",
      reject: "done",
      escalate: "done",
    })
