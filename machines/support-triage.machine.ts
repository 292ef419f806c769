/**
 * Support triage: classify a ticket, route it by kind and confidence, let a person review what the
 * model is unsure about, look the order up before refunding, and answer the customer.
 *
 * ```text
 * classify ─┬─ confidence < 0.7 ──────────────▶ review ─┬─ refund ─▶ lookupOrder
 *           ├─ refund with an order id ───────▶ lookupOrder ─┬─ refundable ─▶ refund ─▶ answer
 *           └─ anything else ─────────────────▶ answer       └─ not refundable ─────▶ answer
 *                                     review ─┬─ other kinds ─▶ answer
 *                                             └─ no decision in 4h ─▶ escalate
 * answer ─▶ done            escalate ─▶ done
 * ```
 *
 * Run it offline: `npm start` (examples/demo.ts runs every sample ticket below).
 */
import { z } from "zod"
import { callTool, fn, human, llm, type ModelRequest, type Models, pipeline, route, tool } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** What a ticket is about, as the classifier and the reviewer say it. */
export const TicketKind = z.enum(["refund", "bug", "question", "other"])

/** The classifier's answer: the kind, how sure it is, and a one-line summary. */
export const Classification = z.object({
  kind: TicketKind,
  confidence: z.number().min(0).max(1),
  summary: z.string(),
})

/** A reviewer's decision on a ticket the classifier was unsure about. */
export const ReviewDecision = z.object({ kind: TicketKind, note: z.string().optional() })

/** One ticket: its text, who sent it, and the order it mentions (when it does). */
export const TicketInput = z.object({
  ticket: z.string().min(1),
  customer: z.string(),
  orderId: z.string().optional(),
})

/** Classifications below this go to a person. */
export const reviewBelow = 0.7

const Order = z.object({
  orderId: z.string(),
  status: z.enum(["processing", "shipped", "delivered"]),
  amount: z.number(),
  daysSinceDelivery: z.number().nullable(),
})

// A stand-in for the order system: the demo runs offline, so orders live here.
const orders: Readonly<Record<string, z.infer<typeof Order>>> = {
  "A-1001": { orderId: "A-1001", status: "delivered", amount: 59.9, daysSinceDelivery: 3 },
  "A-1002": { orderId: "A-1002", status: "delivered", amount: 120, daysSinceDelivery: 64 },
  "A-1003": { orderId: "A-1003", status: "shipped", amount: 24.5, daysSinceDelivery: null },
}

/** Looks an order up; refunds are possible within 30 days of delivery. */
export const lookupOrder = tool({
  name: "lookupOrder",
  description: "Finds an order and says whether it can still be refunded",
  input: z.object({ orderId: z.string() }),
  output: Order.extend({ refundable: z.boolean() }),
  idempotent: true,
  run: ({ orderId }) => {
    const order = orders[orderId]
    if (order === undefined) throw new Error(`no order ${orderId}`)
    return { ...order, refundable: order.daysSinceDelivery === null || order.daysSinceDelivery <= 30 }
  },
})

/** Issues a refund. The idempotency key makes a retried call refund once. */
export const issueRefund = tool({
  name: "issueRefund",
  input: z.object({ orderId: z.string(), amount: z.number().positive() }),
  output: z.object({ refundId: z.string(), amount: z.number() }),
  run: ({ orderId, amount }, { idempotencyKey }) => ({ refundId: `rf-${orderId}-${idempotencyKey.split(":").at(-1)}`, amount }),
})

/** The support-triage pipeline. */
export const supportTriage = pipeline({ id: "support-triage", input: TicketInput, description: "Classify, review, refund and answer support tickets" })
  .step(
    "classify",
    llm({
      model: "fast",
      system: "You classify customer support tickets. Answer with JSON only.",
      prompt: ({ input }) => `Ticket from ${input.customer}:\n${input.ticket}`,
      output: Classification,
      description: "Classifies the ticket",
    }),
  )
  .step(
    "review",
    human({
      decision: ReviewDecision,
      timeout: "4h",
      prompt: ({ input, steps }) =>
        `The classifier is unsure (${steps.classify?.kind}, ${steps.classify?.confidence}). What is this ticket about?\n${input.ticket}`,
      description: "A support agent confirms the kind of an unclear ticket",
    }),
  )
  .step(
    "lookupOrder",
    callTool(lookupOrder, ({ input }) => ({ orderId: input.orderId ?? "" }), { description: "Looks up the order" }),
  )
  .step(
    "refund",
    callTool(issueRefund, ({ steps }) => ({ orderId: steps.lookupOrder?.orderId ?? "", amount: steps.lookupOrder?.amount ?? 0 }), {
      description: "Refunds the order",
    }),
  )
  .step(
    "answer",
    llm({
      model: "fast",
      system: "You are a friendly support agent. Answer in two sentences.",
      prompt: ({ input, steps }) =>
        [
          `Ticket: ${input.ticket}`,
          `Kind: ${steps.review?.kind ?? steps.classify?.kind}`,
          steps.refund === undefined ? "" : `Refund issued: ${steps.refund.refundId} (${steps.refund.amount})`,
          steps.lookupOrder !== undefined && !steps.lookupOrder.refundable ? `Order ${steps.lookupOrder.orderId} is past the 30-day refund window.` : "",
          steps.review?.note === undefined ? "" : `Reviewer note: ${steps.review.note}`,
        ]
          .filter((line) => line !== "")
          .join("\n"),
      description: "Writes the reply to the customer",
    }),
  )
  .step(
    "escalate",
    fn(({ input }) => ({ queue: "tier-2", customer: input.customer, reason: "no review within 4h" }), { description: "Hands the ticket to tier 2" }),
  )
  .edges({
    classify: route(["review", "lookupOrder", "answer"], ({ output, input }) =>
      output.confidence < reviewBelow ? "review" : output.kind === "refund" && input.orderId !== undefined ? "lookupOrder" : "answer",
    ),
    review: {
      next: route(["lookupOrder", "answer"], ({ output, input }) => (output.kind === "refund" && input.orderId !== undefined ? "lookupOrder" : "answer")),
      timeout: "escalate",
    },
    lookupOrder: route(["refund", "answer"], ({ output }) => (output.refundable ? "refund" : "answer")),
    refund: "answer",
    answer: "done",
    escalate: "done",
  })

export default supportTriage

/** A sample ticket: its input, what the simulated reviewer decides (if asked), and how the run ends. */
export interface Sample {
  readonly name: string
  readonly input: z.infer<typeof TicketInput>
  readonly decisions?: { readonly review?: z.infer<typeof ReviewDecision> }
  readonly expected: { readonly status: "done"; readonly step: "answer" | "escalate"; readonly path: readonly string[] }
}

/** Five sample tickets covering every route; `expected` is what `scriptedModels()` makes them do. */
export const samples: readonly Sample[] = [
  {
    name: "refundable order",
    input: { ticket: "My blender arrived broken, I want my money back.", customer: "ana@example.com", orderId: "A-1001" },
    expected: { status: "done", step: "answer", path: ["classify", "lookupOrder", "refund", "answer"] },
  },
  {
    name: "app crash",
    input: { ticket: "The app crashes every time I open settings.", customer: "bo@example.com" },
    expected: { status: "done", step: "answer", path: ["classify", "answer"] },
  },
  {
    name: "late refund",
    input: { ticket: "Refund please, I never used the speaker.", customer: "cy@example.com", orderId: "A-1002" },
    expected: { status: "done", step: "answer", path: ["classify", "lookupOrder", "answer"] },
  },
  {
    name: "unclear, reviewed",
    input: { ticket: "hello?? the thing from last week", customer: "di@example.com", orderId: "A-1003" },
    decisions: { review: { kind: "refund", note: "customer wants to return order A-1003" } },
    expected: { status: "done", step: "answer", path: ["classify", "review", "lookupOrder", "refund", "answer"] },
  },
  {
    name: "unclear, nobody reviews",
    input: { ticket: "Something about my account maybe", customer: "ed@example.com" },
    expected: { status: "done", step: "escalate", path: ["classify", "review", "escalate"] },
  },
]

/** Decisions that reach every route out of `review`, for graph checks. */
export const sampleDecisions = { review: [{ kind: "refund" }, { kind: "question" }] } as const

// What the scripted classifier says about each sample ticket (matched by ticket text).
const classifications: ReadonlyArray<readonly [string, z.infer<typeof Classification>]> = [
  ["blender", { kind: "refund", confidence: 0.94, summary: "Broken blender, wants a refund" }],
  ["crashes", { kind: "bug", confidence: 0.91, summary: "App crashes on settings" }],
  ["speaker", { kind: "refund", confidence: 0.88, summary: "Unused speaker, wants a refund" }],
  ["hello??", { kind: "other", confidence: 0.32, summary: "Unclear message about an order" }],
  ["account", { kind: "question", confidence: 0.45, summary: "Vague account question" }],
]

const reply = (request: ModelRequest): ScriptedReply => {
  const text = request.messages.map((message) => message.content).join("\n")
  if (request.output !== undefined) {
    const found = classifications.find(([marker]) => text.includes(marker))
    return { object: found?.[1] ?? { kind: "other", confidence: 0.5, summary: "Unknown ticket" }, delayMs: 40 }
  }
  const kind = /Kind: (\w+)/.exec(text)?.[1] ?? "other"
  if (text.includes("Refund issued")) return { text: "We are sorry about that. Your refund is on its way.", delayMs: 60 }
  if (text.includes("past the 30-day")) return { text: "Sorry, this order is past the 30-day window. We can offer store credit.", delayMs: 60 }
  return { text: `Thanks for reaching out about this ${kind}. We are on it.`, delayMs: 60 }
}

/**
 * Scripted models that make every sample deterministic offline: replies depend on the request,
 * not on call order. With `rateLimitFirstCall`, the first call is rate-limited (to show a retry).
 *
 * @example
 * const result = await supportTriage.run(samples[0].input, { models: scriptedModels() })
 */
export const scriptedModels = (options: { readonly rateLimitFirstCall?: boolean } = {}): Models & { readonly fast: ReturnType<typeof scriptedModel> } => ({
  fast: scriptedModel(options.rateLimitFirstCall === true ? [{ fail: "rate-limited", retryAfterMs: 300 }, reply] : [reply], {
    name: "scripted-fast",
    repeat: true,
  }),
})
