/**
 * 11 — a durable human approval across processes. The first process starts a refund run on an
 * embedded SQLite journal; the run pauses at the approval step and that process exits (nothing of
 * the run stays in memory, no timer). A second process, knowing only the run id, delivers the
 * decision and finishes the run. The refund tool gets an idempotency key (`runId:step:visit`).
 *
 * Run: `npx node examples/11-durable-human-approval.ts`
 * (or by hand: `... start <db>` prints a run id, then `... decide <db> <runId> true`)
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { z } from "zod"
import { callTool, fn, human, pipeline, route, sqliteJournal, tool } from "../src/index.ts"

const issueRefund = tool({
  name: "issueRefund",
  input: z.object({ orderId: z.string(), amount: z.number() }),
  idempotent: true,
  // A real payment API takes the idempotency key, so a re-run after a crash refunds once.
  run: ({ orderId, amount }, { idempotencyKey }) => ({ refundId: `rf-${orderId}`, amount, idempotencyKey }),
})

/** Check a refund request, wait (durably) for a person to approve it, then refund. */
export const refund = pipeline({ id: "durable-refund", input: z.object({ orderId: z.string(), amount: z.number() }) })
  .step(
    "check",
    fn(({ input }) => ({ orderId: input.orderId, amount: input.amount, risky: input.amount > 100 })),
  )
  .step(
    "approve",
    human({
      decision: z.object({ approve: z.boolean(), approver: z.string() }),
      timeout: "3d",
      prompt: ({ steps }) => `Refund ${steps.check?.amount} on order ${steps.check?.orderId}?`,
    }),
  )
  .step(
    "refund",
    callTool(issueRefund, ({ steps }) => ({ orderId: steps.check?.orderId ?? "", amount: steps.check?.amount ?? 0 })),
  )
  .step(
    "decline",
    fn(({ steps }) => ({ declinedBy: steps.approve?.approver ?? "nobody" })),
  )
  .edges({
    check: "approve",
    approve: { next: route(["refund", "decline"], ({ output }) => (output.approve ? "refund" : "decline")), timeout: "decline" },
    refund: "done",
    decline: "done",
  })

/** First process: start the run; it pauses at `approve` and this process can exit. */
export const startRun = async (database: string): Promise<string> => {
  const journal = sqliteJournal({ path: database })
  const result = await refund.run({ orderId: "A-1001", amount: 250 }, { journal })
  journal.close()
  if (result.status !== "awaiting-human") throw new Error(`expected the run to wait for approval, got ${result.status}`)
  return result.runId
}

/** Second process: deliver the decision by run id; the run continues from its journal. */
export const decideRun = async (database: string, runId: string, approve: boolean) => {
  const journal = sqliteJournal({ path: database })
  try {
    return await refund.decide(runId, "approve", { approve, approver: "dana" }, { journal })
  } finally {
    journal.close()
  }
}

/** Runs both halves in two separate processes, as they would run in production. */
export const main = ({ log = console.log }: { readonly log?: (line: string) => void } = {}) => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-example-11-"))
  const database = join(folder, "runs.db")
  try {
    const runId = execFileSync(process.execPath, [import.meta.filename, "start", database], { encoding: "utf8" }).trim()
    log(`process 1 started run ${runId}; it waits for approval and the process has exited`)
    const output = execFileSync(process.execPath, [import.meta.filename, "decide", database, runId, "true"], { encoding: "utf8" }).trim()
    log(`process 2 decided: ${output}`)
    return JSON.parse(output) as { status: string; output: unknown }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

if (import.meta.filename === process.argv[1]) {
  const [command, database = "", runId = "", approve = "true"] = process.argv.slice(2)
  if (command === "start") process.stdout.write(`${await startRun(database)}\n`)
  else if (command === "decide") {
    const result = await decideRun(database, runId, approve === "true")
    process.stdout.write(`${JSON.stringify({ status: result.status, output: result.status === "done" ? result.output : undefined })}\n`)
  } else main()
}
