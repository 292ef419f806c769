/**
 * 08 — tool approval: a tool marked `approval` (always, or by a predicate on its arguments) pauses
 * the run in `awaiting-human` with the pending call; a person approves, rejects (the reason goes
 * back to the model) or edits the arguments (checked again against the tool's schema). Decisions
 * are journaled, so a paused run continues in another process with `p.decide`.
 *  1. `p.start()` + `handle.send`: a refund over 100 is approved.
 *  2. `p.run()` pauses into the journal; `p.decide` edits the amount down and continues.
 *  3. A rejection: the model reads the reason and answers without refunding.
 *
 * Run: `npx node examples/08-tool-approval.ts`
 */
import { z } from "zod"
import { agent, maxSteps, memoryJournal, pipeline, tool } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** Every refund that went through, for the example's output. */
export const ledger: Array<{ orderId: string; amount: number }> = []

/** Refunds an order; refunds over 100 wait for a person. */
export const issueRefund = tool({
  name: "issueRefund",
  description: "Refund an order",
  input: z.object({ orderId: z.string(), amount: z.number().positive() }),
  approval: ({ amount }) => amount > 100,
  run: (args) => (ledger.push(args), { refunded: args.amount }),
})

/** One agent step whose refunds may need a person's approval. */
export const approvals = pipeline({ id: "refund-approvals", input: z.object({ orderId: z.string(), amount: z.number() }) })
  .step(
    "refund",
    agent({
      model: "smart",
      prompt: ({ input }) => `Refund ${input.amount} for order ${input.orderId}.`,
      tools: { issueRefund },
      stop: [maxSteps(3)],
    }),
  )
  .edges({ refund: "done" })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

// The scripted model asks for the refund, then answers from the tool's result (or the rejection).
const refundThenReport: ScriptedReply = (request) => {
  const last = request.messages.at(-1)
  if (last?.role === "tool") return last.isError === true ? `No refund: ${last.content}` : `Done: ${last.content}`
  const [, amount, orderId] = /Refund (\d+) for order (\S+)\./.exec(String(last?.content)) ?? []
  return { toolCalls: [{ name: "issueRefund", arguments: { orderId, amount: Number(amount) } }] }
}
const models = () => ({ smart: scriptedModel([refundThenReport], { repeat: true }) })

/**
 * Runs the three approvals offline and prints each pause, decision and outcome.
 *
 * @example
 * const { approved, edited, rejected } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  ledger.length = 0
  log("1. start() + handle.send approve:")
  const handle = approvals.start({ orderId: "B-7", amount: 180 }, { models: models() })
  for await (const event of handle.events) {
    if (event.type === "human.waiting") {
      log(`   waiting: ${event.prompt}`)
      handle.send("refund", { action: "approve" })
    }
  }
  const approved = await handle.result
  log(`   → ${approved.status}: ${approved.status === "done" ? approved.output : ""}`)

  log("2. run() pauses, decide() edits the amount:")
  const journal = memoryJournal()
  const paused = await approvals.run({ orderId: "B-8", amount: 250 }, { models: models(), journal })
  log(`   → ${paused.status}${paused.status === "awaiting-human" ? ` on ${paused.step}` : ""}`)
  const edited = await approvals.decide(paused.runId, "refund", { action: "edit", arguments: { orderId: "B-8", amount: 120 } }, { journal, models: models() })
  log(`   → ${edited.status}: ${edited.status === "done" ? edited.output : ""}`)

  log("3. a rejection goes back to the model:")
  const rejecting = approvals.start({ orderId: "B-9", amount: 900 }, { models: models() })
  for await (const event of rejecting.events) {
    if (event.type === "human.waiting") rejecting.send("refund", { action: "reject", reason: "needs a manager over 500" })
  }
  const rejected = await rejecting.result
  log(`   → ${rejected.status}: ${rejected.status === "done" ? rejected.output : ""}`)
  log(`   ledger: ${JSON.stringify(ledger)}`)
  return { approved, paused, edited, rejected, ledger: [...ledger] }
}

if (import.meta.filename === process.argv[1]) await main()
