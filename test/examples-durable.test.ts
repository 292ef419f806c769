import { describe, expect, it } from "vitest"
import { main } from "../examples/11-durable-human-approval.ts"

describe("example 11: durable human approval", () => {
  it("starts in one process, decides in another, refunds once with the run's idempotency key", () => {
    const lines: string[] = []
    const result = main({ log: (line) => lines.push(line) })
    expect(result).toMatchObject({ status: "done", output: { refundId: "rf-A-1001", amount: 250 } })
    const runId = /started run (\S+);/.exec(lines[0] ?? "")?.[1]
    expect(runId).toBeDefined()
    expect(result.output).toMatchObject({ idempotencyKey: `${runId}:refund:1` })
  }, 30_000)
})
