// Examples 07 and 08 run silenced and must do what their comments promise.
import { describe, expect, it } from "vitest"
import { main as agentWithTools } from "../examples/07-agent-with-tools.ts"
import { main as toolApproval } from "../examples/08-tool-approval.ts"

const silent = { log: () => {} }

describe("agent examples", () => {
  it("07 resolves a ticket through the sub-chart, and stops a runaway model with maxSteps(4)", async () => {
    const { resolved, states, events, stopped, journal } = await agentWithTools(silent)
    expect(resolved).toMatchObject({ status: "done", output: "Dear customer, we refunded orders A-1 (40) and A-2 (25)." })
    expect(states).toEqual([
      '{"refund":"thinking"}',
      '{"refund":"callingTools"}',
      '{"refund":"thinking"}',
      '{"refund":"callingTools"}',
      '{"refund":"thinking"}',
      '"reply"',
      '"done"',
    ])
    expect(events.filter((event) => event.type === "tool.called")).toHaveLength(4)
    expect(resolved.usage).toMatchObject({ inputTokens: 950, outputTokens: 120 })
    expect((await journal.read(resolved.runId)).filter((entry) => entry.type === "agent.turned")).toHaveLength(3)
    expect(stopped).toMatchObject({ status: "done", output: "A colleague will get back to you today.", stoppedBy: { step: "refund", rule: "maxSteps(4)" } })
  })

  it("08 approves, edits and rejects refunds over 100; only approved and edited ones are paid", async () => {
    const { approved, paused, edited, rejected, ledger } = await toolApproval(silent)
    expect(approved).toMatchObject({ status: "done", output: 'Done: {"refunded":180}' })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "refund" })
    expect(edited).toMatchObject({ status: "done", output: 'Done: {"refunded":120}' })
    expect(rejected).toMatchObject({ status: "done", output: "No refund: A person reviewing this call rejected it: needs a manager over 500" })
    expect(ledger).toEqual([
      { orderId: "B-7", amount: 180 },
      { orderId: "B-8", amount: 120 },
    ])
  })
})
