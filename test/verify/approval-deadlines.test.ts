// Tool approvals with a deadline, as the verification tools see them: check() warns about approvals
// without one, the chart has the timeout route, paths cover it, simulate drives it, and the
// journaled structure names it.
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { structureChanges } from "../../src/definition/structure.ts"
import { agent, chartOf, check, coverage, fn, maxSteps, paths, pipeline, simulate, tool } from "../../src/index.ts"
import { readChart, transitionsOf } from "../../src/verify/chart.ts"

type Approval = NonNullable<Parameters<typeof tool<{ amount: number }, unknown>>[0]["approval"]>

const refunds = (refundApproval: Approval, options: { readonly agentTimeout?: "1h"; readonly noteApproval?: Approval } = {}) => {
  const issueRefund = tool({ name: "issueRefund", input: z.object({ amount: z.number() }), approval: refundApproval, run: () => "ok" })
  const addNote = tool({ name: "addNote", input: z.object({ amount: z.number() }), approval: options.noteApproval ?? false, run: () => "noted" })
  return pipeline({ id: "refunds", input: z.object({ amount: z.number() }) })
    .step(
      "refund",
      agent({
        model: "smart",
        prompt: ({ input }) => `refund ${input.amount}`,
        tools: { issueRefund, addNote },
        stop: [maxSteps(3)],
        ...(options.agentTimeout === undefined ? {} : { approval: { timeout: options.agentTimeout } }),
      }),
    )
    .step(
      "reply",
      fn(() => "replied"),
    )
    .edges({ refund: "reply", reply: "done" })
}

describe("check() and approval deadlines", () => {
  it("warns about a tool whose approval has no deadline, naming the agent and the tool", () => {
    const findings = check(refunds(true))
    expect(findings).toEqual([
      {
        severity: "warning",
        code: "approval-without-timeout",
        steps: ["refund"],
        message: 'agent "refund": the approval of "issueRefund" has no timeout: a run can wait for a person forever',
        fix: expect.stringContaining('approval: { timeout: "4h" }'),
      },
    ])
    expect(check(refunds(({ amount }) => amount > 50))).toMatchObject([{ code: "approval-without-timeout" }])
  })

  it("names only the approval tools without a deadline", () => {
    const findings = check(refunds({ timeout: "4h" }, { noteApproval: true }))
    expect(findings).toMatchObject([{ code: "approval-without-timeout", message: expect.stringContaining('"addNote"') }])
    expect(findings[0]?.message).not.toContain("issueRefund")
  })

  it("is satisfied by a deadline on the tool, or the agent's default for its tools", () => {
    expect(check(refunds({ when: ({ amount }) => amount > 50, timeout: "4h" }))).toEqual([])
    expect(check(refunds(true, { agentTimeout: "1h", noteApproval: true }))).toEqual([])
  })
})

describe("the approval timeout route on the chart", () => {
  it("the compiled chart has awaitingApproval --timeout--> callingTools, and only with a deadline", () => {
    const timed = transitionsOf(readChart(refunds({ timeout: "4h" }).machine)).map((transition) => transition.key)
    expect(timed).toContain("refund.awaitingApproval --timeout--> refund.callingTools")
    expect(readChart(refunds({ timeout: "4h" }).machine).states.get("refund.awaitingApproval")).toMatchObject({
      deadline: true,
      agent: { approvalTools: ["issueRefund"], approvalTimeouts: ["issueRefund"] },
    })
    const untimed = transitionsOf(readChart(refunds(true).machine)).map((transition) => transition.key)
    expect(untimed.some((key) => key.includes("--timeout-->"))).toBe(false)
    const config = refunds({ timeout: "4h" }).machine.config as unknown as {
      states: { refund: { states: { awaitingApproval: { after?: object; description: string } } } }
    }
    expect(Object.keys(config.states.refund.states.awaitingApproval.after ?? {})).toEqual(["refund.approval"])
    expect(config.states.refund.states.awaitingApproval.description).toMatch(/past the deadline \(issueRefund\) the call is refused/)
  })

  it("the structure journaled with a run names the tools whose approval has a deadline; adding one is a structure change", () => {
    const timed = refunds({ timeout: "4h" })
    expect(timed.structure?.steps.find((step) => step.name === "refund")).toMatchObject({ approvalTimeouts: ["issueRefund"] })
    const untimed = refunds(true)
    expect(untimed.structure?.steps.find((step) => step.name === "refund")).not.toHaveProperty("approvalTimeouts")
    expect(structureChanges(untimed.structure ?? { steps: [] }, timed.structure ?? { steps: [] })).toEqual([expect.stringContaining('step "refund" changed')])
    // The diagram of the pipeline still draws the agent step and its edge (the route is inside its sub-chart).
    expect(chartOf(timed, timed.structure).edges).toContainEqual(expect.objectContaining({ from: "refund", to: "reply" }))
  })

  it("paths cover the timeout route and simulate drives it through the real sub-chart", async () => {
    const timed = refunds({ timeout: "4h" })
    const found = await paths(timed, { input: { amount: 80 } })
    const timeout = "refund.awaitingApproval --timeout--> refund.callingTools"
    const covered = coverage(timed, found)
    expect(covered.total).toBe(coverage(refunds(true), await paths(refunds(true), { input: { amount: 80 } })).total + 1)
    expect(covered.uncovered).not.toContain(timeout)
    expect(found.some((path) => path.transitions.includes("refund.awaitingApproval --timeout--> refund.callingTools"))).toBe(true)
    const { runs } = await simulate(timed, { input: { amount: 80 } })
    expect(runs.filter((run) => !run.ok)).toEqual([])
    expect(runs.some((run) => run.transitions.includes("refund.awaitingApproval --timeout--> refund.callingTools"))).toBe(true)
  })
})
