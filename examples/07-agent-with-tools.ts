/**
 * 07 — an agent with tools: the model decides which tools to call, in a loop bounded by stop
 * rules. The loop is a visible sub-chart of the machine (`refund.thinking → refund.callingTools →
 * refund.thinking … → refund.finished`), its conversation lives in the machine context, and every
 * turn and tool call is journaled. Shown twice:
 *  1. The model looks the order up, refunds it (two calls in one turn run in parallel), answers.
 *  2. A model that never stops asking for tools is stopped by `maxSteps(4)`; the `stopped` edge
 *     hands the ticket to a person.
 *
 * Run: `npx node examples/07-agent-with-tools.ts`
 */
import { z } from "zod"
import { agent, budget, fn, maxSteps, memoryJournal, pipeline, type RunEvent, tool } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const orders: Readonly<Record<string, { readonly total: number; readonly delivered: boolean }>> = {
  "A-1": { total: 40, delivered: true },
  "A-2": { total: 25, delivered: true },
}

/** Looks an order up. */
export const lookupOrder = tool({
  name: "lookupOrder",
  description: "Look an order up by id",
  input: z.object({ orderId: z.string() }),
  run: ({ orderId }) => {
    const order = orders[orderId]
    if (order === undefined) throw new Error(`no order ${orderId}`)
    return { orderId, ...order }
  },
})

/** Refunds an order; the idempotency key (`runId:step:visit:turn:callId`) lets a payment system refund once. */
export const issueRefund = tool({
  name: "issueRefund",
  description: "Refund an order",
  input: z.object({ orderId: z.string(), amount: z.number().positive() }),
  timeout: "10s",
  run: ({ orderId, amount }, { idempotencyKey }) => ({ refundId: `rf-${orderId}`, amount, idempotencyKey }),
})

/** What the agent answers. */
export const Resolution = z.object({ refunded: z.array(z.string()), message: z.string() })

/** A support pipeline: the agent resolves the ticket; a person takes over when it is stopped. */
export const refunds = pipeline({ id: "agent-refunds", input: z.object({ ticket: z.string() }) })
  .step(
    "refund",
    agent({
      model: "smart",
      system: "You resolve refund tickets. Look orders up before refunding. Answer with JSON { refunded, message }.",
      prompt: ({ input }) => input.ticket,
      tools: { lookupOrder, issueRefund },
      output: Resolution,
      stop: [maxSteps(4), budget({ usd: 0.05 })],
    }),
  )
  .step(
    "reply",
    fn(({ steps }) => `Dear customer, ${steps.refund?.message}`),
  )
  .step(
    "handOff",
    fn(() => "A colleague will get back to you today."),
  )
  .edges({ refund: { next: "reply", stopped: "handOff" }, reply: "done", handOff: "done" })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

// With OPENAI_API_KEY set, a real provider plugs in as `smart`; offline, a script plays the model.
const helpfulModel = () =>
  scriptedModel([
    {
      toolCalls: [
        { name: "lookupOrder", arguments: { orderId: "A-1" } },
        { name: "lookupOrder", arguments: { orderId: "A-2" } },
      ],
      usage: { inputTokens: 180, outputTokens: 40 },
    },
    {
      toolCalls: [
        { name: "issueRefund", arguments: { orderId: "A-1", amount: 40 } },
        { name: "issueRefund", arguments: { orderId: "A-2", amount: 25 } },
      ],
      usage: { inputTokens: 320, outputTokens: 50 },
    },
    { object: { refunded: ["A-1", "A-2"], message: "we refunded orders A-1 (40) and A-2 (25)." }, usage: { inputTokens: 450, outputTokens: 30 } },
  ])
const stubbornModel = () =>
  scriptedModel([{ toolCalls: [{ name: "lookupOrder", arguments: { orderId: "A-1" } }], usage: { inputTokens: 200, outputTokens: 20 } }], { repeat: true })

/**
 * Runs both tickets offline and prints the sub-chart states, tool calls and outcomes.
 *
 * @example
 * const { resolved, stopped } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  log("1. the agent looks both orders up, refunds them, answers:")
  const journal = memoryJournal()
  const states: string[] = []
  const handle = refunds.start({ ticket: "Please refund my orders A-1 and A-2." }, { models: { smart: helpfulModel() }, journal })
  handle.actor.subscribe((snapshot) => {
    const value = JSON.stringify(snapshot.value)
    if (states.at(-1) !== value) states.push(value)
  })
  const events: RunEvent[] = []
  for await (const event of handle.events) {
    events.push(event)
    if (event.type === "tool.called") log(`   ${event.tool}(${JSON.stringify(event.args)}) → ${JSON.stringify(event.result)}`)
  }
  const resolved = await handle.result
  log(`   states: ${states.join(" → ")}`)
  log(`   → ${resolved.status}: ${resolved.status === "done" ? resolved.output : ""} (${resolved.usage.inputTokens + resolved.usage.outputTokens} tokens)`)

  log("2. a model that never stops calling tools:")
  const stopped = await refunds.run({ ticket: "Refund A-1" }, { models: { smart: stubbornModel() } })
  log(`   → ${stopped.status}: ${stopped.status === "done" ? stopped.output : ""}, stopped by ${stopped.status === "done" ? stopped.stoppedBy?.rule : "?"}`)
  return { resolved, states, events, stopped, journal }
}

if (import.meta.filename === process.argv[1]) await main()
