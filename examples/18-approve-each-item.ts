/**
 * 18 — a person approves each item of a batch. A `map` over refund requests gives every request
 * its own human step, addressed by its place in the batch (`approve[0]`, `approve[1]`, …). The
 * run pauses once every request waits, lists what it waits for (with the JSON Schema each
 * decision must match and its deadline), and continues with exactly the
 * decisions it is given: one by address, then the rest in one batch call. A batch with one wrong
 * decision is refused whole, naming the address, and changes nothing. Offline, on SQLite.
 *
 * Run: `npx node examples/18-approve-each-item.ts`
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { z } from "zod"
import { DecisionError, fn, human, map, pipeline, sqliteJournal } from "../src/index.ts"

const Refund = z.object({ orderId: z.string(), amount: z.number() })
const Verdict = z.object({ approve: z.boolean(), reason: z.string().optional() })

/** Each refund of the batch is approved or rejected by a person, within a day; then the approved ones are paid. */
export const refunds = pipeline({ id: "refund-batch", input: z.object({ requests: z.array(Refund) }) })
  .step(
    "approve",
    map({
      over: ({ input }) => input.requests,
      each: human({
        decision: Verdict,
        timeout: "1d",
        prompt: ({ input }: { input: z.infer<typeof Refund> }) => `Refund ${input.amount} EUR on order ${input.orderId}?`,
      }),
      // A batch of approvals is bounded: the builder's check() warns about a map of approvals without it.
      maxItems: 100,
    }),
  )
  .step(
    "pay",
    fn(({ input, steps }) => {
      const approved = input.requests.filter((_, index) => steps.approve?.[index]?.approve === true)
      return { paid: approved.map((request) => request.orderId), total: approved.reduce((sum, request) => sum + request.amount, 0) }
    }),
  )
  .edges({ approve: "pay", pay: "done" })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Pauses a batch of three refunds, decides one by address, refuses a batch with a wrong decision,
 * then decides the other two in one call.
 *
 * @example
 * const { paused, finished } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const directory = mkdtempSync(join(tmpdir(), "approve-each-"))
  const journal = sqliteJournal({ path: join(directory, "runs.db") })
  try {
    const requests = [
      { orderId: "A-1", amount: 30 },
      { orderId: "B-2", amount: 950 },
      { orderId: "C-3", amount: 12 },
    ]
    const paused = await refunds.run({ requests }, { journal })
    if (paused.status !== "awaiting-human") throw new Error(`expected the batch to wait, got ${paused.status}`)
    log(`${paused.status}: ${paused.pending?.length} decisions pending`)
    for (const wait of paused.pending ?? []) log(`  ${wait.path}  ${wait.prompt}`)
    log(`  each expects ${JSON.stringify(paused.pending?.[0]?.decision.properties)}`)

    const one = await refunds.decide(paused.runId, "approve[1]", { approve: false, reason: "over the limit" }, { journal })
    log(`after approve[1]: ${one.status}, still pending ${one.status === "awaiting-human" ? one.pending?.map((wait) => wait.path).join(", ") : "-"}`)

    let refused: DecisionError | undefined
    try {
      await refunds.decide(paused.runId, { "approve[0]": { approve: true }, "approve[2]": { approve: "yes" } }, { journal })
    } catch (error) {
      if (!(error instanceof DecisionError)) throw error
      refused = error
      log(`refused: ${error.message}`)
    }

    const finished = await refunds.decide(paused.runId, { "approve[0]": { approve: true }, "approve[2]": { approve: true } }, { journal })
    log(`${finished.status}: ${JSON.stringify(finished.status === "done" ? finished.output : finished.status)}`)
    return { paused, one, refused, finished }
  } finally {
    journal.close()
    rmSync(directory, { recursive: true, force: true })
  }
}

if (import.meta.filename === process.argv[1]) await main()
