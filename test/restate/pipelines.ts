import { z } from "zod"
import { agent, type DurationInput, fn, human, maxSteps, parallel, pipeline, route, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

/** Three plain steps in a row. */
export const chain = pipeline({ id: "durable-chain", input: z.object({ text: z.string() }) })
  .step(
    "trim",
    fn(({ input }) => input.text.trim()),
  )
  .step(
    "upper",
    fn(({ steps }) => (steps.trim ?? "").toUpperCase()),
  )
  .step(
    "count",
    fn(({ steps }) => ({ text: steps.upper ?? "", length: (steps.upper ?? "").length })),
  )
  .edges({ trim: "upper", upper: "count", count: "done" })

/** A route function picks the branch from the first step's output. */
export const routed = pipeline({ id: "durable-routed", input: z.object({ ticket: z.string() }) })
  .step(
    "classify",
    fn(({ input }) => ({ kind: input.ticket.includes("refund") ? ("refund" as const) : ("other" as const) })),
  )
  .step(
    "refund",
    fn(({ input }) => `refund for: ${input.ticket}`),
  )
  .step(
    "answer",
    fn(({ input }) => `answer to: ${input.ticket}`),
  )
  .edges({
    classify: route(["refund", "answer"], ({ output }) => (output.kind === "refund" ? "refund" : "answer")),
    refund: "done",
    answer: "done",
  })

/** Prepare, wait for a typed decision (or its timeout), then pay, reject or escalate. */
export const approval = (timeout: DurationInput = "24h") =>
  pipeline({ id: "durable-approval", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input }) => ({ amount: input.amount, currency: "EUR" })),
    )
    .step(
      "review",
      human({
        decision: z.object({ approve: z.boolean(), note: z.string().optional() }),
        timeout,
        prompt: ({ steps }) => `Approve ${steps.prepare?.amount} ${steps.prepare?.currency}?`,
      }),
    )
    .step(
      "pay",
      fn(({ steps }) => `paid ${steps.prepare?.amount}`),
    )
    .step(
      "reject",
      fn(({ steps }) => `rejected: ${steps.review?.note ?? "no note"}`),
    )
    .step(
      "escalate",
      fn(() => "escalated to a manager"),
    )
    .edges({
      prepare: "review",
      review: { next: route(["pay", "reject"], ({ output }) => (output.approve ? "pay" : "reject")), timeout: "escalate" },
      pay: "done",
      reject: "done",
      escalate: "done",
    })

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: ({ id }) => ({ id, stock: id.length }) })

/** An agent loop (a model turn, a tool batch, a model turn) between two plain steps. */
export const agentLoop = pipeline({ id: "durable-agent", input: z.object({ id: z.string() }) })
  .step(
    "ask",
    agent({ model: "smart", prompt: ({ input }) => `Check ${input.id}`, tools: { lookup }, output: z.object({ stock: z.number() }), stop: [maxSteps(4)] }),
  )
  .step(
    "report",
    fn(({ steps }) => `in stock: ${steps.ask?.stock}`),
  )
  .edges({ ask: "report", report: "done" })

/** Answers the agent loop above from the conversation alone, so any process gives the same answers. */
export const agentModel = () =>
  scriptedModel(
    [
      (request) => {
        const last = request.messages.at(-1)
        if (last?.role === "tool") return { object: { stock: (JSON.parse(last.content) as { stock: number }).stock } }
        return { toolCalls: [{ name: "lookup", arguments: { id: String(last?.content).replace("Check ", "") } }] }
      },
    ],
    { repeat: true },
  )

/** Two branches in parallel, then a join. */
export const fanned = pipeline({ id: "durable-parallel", input: z.object({ text: z.string() }) })
  .step(
    "both",
    parallel({
      branches: {
        upper: fn(({ input }: { input: { text: string } }) => input.text.toUpperCase()),
        length: fn(({ input }: { input: { text: string } }) => input.text.length),
      },
    }),
  )
  .edges({ both: "done" })
