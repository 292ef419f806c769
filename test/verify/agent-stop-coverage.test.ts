// The README's "every transition is tested" recipe — pathCases(), then coverage() of their
// paths — leaves nothing uncovered for an agent whose only stop rule is maxSteps, for the
// run-budget stops every agent's chart has, and on every machine in machines/.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, check, coverage, fn, hasToolCall, maxSteps, or, pipeline, tool } from "../../src/index.ts"
import { pathCases } from "../../src/testing/index.ts"

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: () => "found" })
const bounded = pipeline({ id: "bounded", input: z.object({ ticket: z.string() }) })
  .step("refund", agent({ model: "smart", prompt: ({ input }) => input.ticket, tools: { lookup }, stop: [maxSteps(3)] }))
  .step(
    "reply",
    fn(() => "replied"),
  )
  .step(
    "handOff",
    fn(() => "handed off"),
  )
  .edges({ refund: { next: "reply", stopped: "handOff" }, reply: "done", handOff: "done" })

const recipe = async (subject: Parameters<typeof pathCases>[0]) => {
  const cases = await pathCases(subject)
  const outcomes = await Promise.all(cases.map(async (test) => ({ name: test.name, final: test.final, outcome: await test.run() })))
  return {
    cases,
    outcomes,
    uncovered: coverage(
      subject,
      cases.map((test) => test.path),
    ).uncovered,
  }
}

describe("coverage of agents' stop transitions", () => {
  it("an agent stopped only by maxSteps: every generated path runs, and no transition is left uncovered", async () => {
    const { outcomes, uncovered } = await recipe(bounded)
    for (const { name, final, outcome } of outcomes)
      expect({ name, ok: outcome.ok, reached: outcome.reached, problem: outcome.problem }).toEqual({ name, ok: true, reached: final, problem: undefined })
    expect(uncovered).toEqual([])
    // maxSteps counts turns, which a tool batch does not change: the chart has no stop of it after tools.
    const callingTools = JSON.stringify(
      (bounded.machine.config.states as Record<string, { states: Record<string, unknown> }>)["refund"]?.states["callingTools"],
    )
    expect(callingTools).not.toContain("maxSteps(3)")
    expect(JSON.stringify(bounded.machine.config)).toContain("maxSteps(3)")
  })

  const machines = readdirSync(join(import.meta.dirname, "../../machines")).filter((file) => file.endsWith(".machine.ts"))
  it.each(machines)("the README recipe passes on machines/%s", async (file) => {
    const machine = ((await import(`../../machines/${file}`)) as { default: unknown }).default
    const { outcomes, uncovered } = await recipe(machine as Parameters<typeof pathCases>[0])
    expect(outcomes.filter(({ outcome, final }) => !outcome.ok || outcome.reached !== final).map(({ name, outcome }) => `${name}: ${outcome.problem}`)).toEqual(
      [],
    )
    expect(uncovered).toEqual([])
  })
})

describe("check() of agents' stop rules", () => {
  it("reports a hasToolCall rule naming a tool the agent does not have, inside or/and/not too", () => {
    const giveUp = pipeline({ id: "give-up", input: z.object({ ticket: z.string() }) })
      .step(
        "refund",
        agent({
          model: "smart",
          prompt: ({ input }) => input.ticket,
          tools: { lookup },
          stop: [maxSteps(5), or(hasToolCall("giveUp"), hasToolCall("lookup"))],
        }),
      )
      .edges({ refund: { next: "done", stopped: "done" } })
    expect(check(giveUp).filter((finding) => finding.code === "stop-rule-unknown-tool")).toEqual([
      {
        severity: "error",
        code: "stop-rule-unknown-tool",
        steps: ["refund"],
        message: 'agent "refund": the stop rule hasToolCall("giveUp") names a tool the agent does not have (its tools: lookup); it can never fire',
        fix: 'add a "giveUp" tool to the agent\'s tools, or name one of its tools in hasToolCall(...)',
      },
    ])
    expect(check(bounded).filter((finding) => finding.code === "stop-rule-unknown-tool")).toEqual([])
  })
})
