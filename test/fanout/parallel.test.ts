import { describe, expect, it } from "vitest"
import { createActor, waitFor } from "xstate"
import { z } from "zod"
import { fn, human, llm, maxVisits, memoryJournal, parallel, pipeline, type RunEvent, route } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Invoice = z.object({ text: z.string() })
const describeEvent = (event: RunEvent) =>
  `${event.type} ${"step" in event ? event.step : ""}${event.type === "route.taken" ? `${event.from}→${event.to}` : ""}`.trim()

const extraction = (
  model = scriptedModel([(request) => (String(request.messages.at(-1)?.content).startsWith("Vendor") ? "ACME" : "EUR")], { repeat: true }),
) => ({
  model,
  invoice: pipeline({ id: "invoice", input: Invoice })
    .step(
      "extract",
      parallel({
        branches: {
          vendor: llm({ model: "fast", prompt: ({ input }) => `Vendor of: ${input.text}` }),
          currency: llm({ model: "fast", prompt: ({ input }) => `Currency of: ${input.text}` }),
          total: fn(({ input }) => Number(/\d+/.exec(input.text)?.[0] ?? 0)),
        },
        join: ({ vendor, currency, total }) => `${vendor}: ${total} ${currency}`,
      }),
    )
    .step(
      "file",
      fn(({ steps }) => `filed ${steps.extract}`),
    )
    .edges({ extract: "file", file: "done" }),
})

describe("parallel", () => {
  it("runs every branch, joins their outputs, and journals each branch under the step's path", async () => {
    const { invoice, model } = extraction()
    const journal = memoryJournal()
    const events: RunEvent[] = []
    const result = await invoice.run(
      { text: "ACME invoice, 120 EUR" },
      { models: { fast: model }, journal, runId: "r", onEvent: (event) => events.push(event) },
    )
    expect(result).toMatchObject({ status: "done", output: "filed ACME: 120 EUR", steps: { extract: "ACME: 120 EUR" } })
    expect(model.calls).toHaveLength(2)
    const names = events.map(describeEvent)
    // The step starts before any branch and finishes after all of them.
    expect(names.indexOf("step.started extract")).toBe(1)
    expect(names.filter((name) => name.startsWith("step.finished extract")).at(-1)).toBe("step.finished extract")
    expect(names.filter((name) => name.startsWith("step.finished extract.")).sort()).toEqual([
      "step.finished extract.currency",
      "step.finished extract.total",
      "step.finished extract.vendor",
    ])
    expect(names.indexOf("step.finished extract")).toBeGreaterThan(
      Math.max(...["vendor", "currency", "total"].map((branch) => names.indexOf(`step.finished extract.${branch}`))),
    )
    expect(names.filter((name) => name.startsWith("route.taken"))).toEqual(["route.taken extract→file", "route.taken file→done"])
    expect((await journal.read("r")).map((entry) => entry.type)).toEqual(events.map((event) => event.type))
  })

  it("outputs the record of branch outputs without a join", async () => {
    const p = pipeline({ id: "record", input: z.object({ n: z.number() }) })
      .step("both", parallel({ branches: { double: fn(({ input }) => input.n * 2), text: fn(({ input }) => `n=${input.n}`) } }))
      .edges({ both: "done" })
    expect(await p.run({ n: 4 })).toMatchObject({ status: "done", output: { double: 8, text: "n=4" } })
  })

  it("compiles to an XState parallel state with one region per branch, visible while it runs", async () => {
    const gate = Promise.withResolvers<string>()
    const p = pipeline({ id: "regions", input: z.object({}) })
      .step("fan", parallel({ branches: { quick: fn(() => "quick"), slow: fn(() => gate.promise) } }))
      .edges({ fan: "done" })
    const config = p.machine.config.states?.["fan"] as { states: { branches: { type: string; states: Record<string, unknown> } } }
    expect(config.states.branches.type).toBe("parallel")
    expect(Object.keys(config.states.branches.states)).toEqual(["quick", "slow"])
    expect(() => JSON.stringify(p.machine.config)).not.toThrow()
    const actor = createActor(p.machine, { input: { input: {} } }).start()
    await waitFor(actor, (snapshot) => JSON.stringify(snapshot.value).includes('"quick":"finished"'))
    expect(actor.getSnapshot().value).toEqual({ fan: { branches: { quick: "finished", slow: "running" } } })
    expect(actor.getSnapshot().context.branches).toEqual({ "fan.quick": "quick" })
    gate.resolve("slow")
    await waitFor(actor, (snapshot) => snapshot.status === "done")
    expect(actor.getSnapshot().output).toMatchObject({ status: "done", steps: { fan: { quick: "quick", slow: "slow" } } })
    // Once joined, the branch outputs live only in `steps`: snapshots do not carry them twice.
    expect(actor.getSnapshot().context.branches).toEqual({})
  })

  it("a failing branch takes the step's error edge at once and cancels the other branches", async () => {
    let aborted = false
    const p = pipeline({ id: "failing", input: z.object({}) })
      .step(
        "fan",
        parallel({
          branches: {
            broken: fn(async () => {
              await Promise.resolve()
              throw new Error("no vendor found")
            }),
            waiting: fn(
              ({ signal }) =>
                new Promise((_, reject) =>
                  signal.addEventListener("abort", () => {
                    aborted = true
                    reject(new Error("aborted"))
                  }),
                ),
            ),
          },
        }),
      )
      .step(
        "fallback",
        fn(({ steps }) => `fallback after ${JSON.stringify(steps)}`),
      )
      .edges({ fan: { next: "done", error: "fallback" }, fallback: "done" })
    const journal = memoryJournal()
    const result = await p.run({}, { journal, runId: "r" })
    expect(result).toMatchObject({ status: "done", step: "fallback" })
    expect(aborted).toBe(true)
    const failed = (await journal.read("r")).flatMap((entry) => (entry.type === "step.failed" ? [[entry.step, entry.error._tag]] : []))
    expect(failed).toEqual(
      expect.arrayContaining([
        ["fan.broken", "StepCodeError"],
        ["fan.waiting", "CancelledError"],
      ]),
    )
  })

  it("a failing branch without an error edge fails the run with the branch's error", async () => {
    const p = pipeline({ id: "failing", input: z.object({}) })
      .step(
        "fan",
        parallel({
          branches: {
            ok: fn(() => 1),
            broken: fn(() => {
              throw new Error("bad branch")
            }),
          },
        }),
      )
      .edges({ fan: "done" })
    expect(await p.run({})).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "fan.broken", message: "bad branch" } })
  })

  it("runs its branches again on a second visit (a loop), journaled under that visit", async () => {
    const p = pipeline({ id: "loop", input: z.object({}) })
      .step("fan", parallel({ branches: { visit: fn(({ visit }) => visit), twice: fn(({ visit }) => visit * 2) } }))
      .step(
        "again",
        fn(({ steps }) => steps.fan?.visit ?? 0),
      )
      .edges({
        fan: { next: "again", stop: maxVisits(2), stopped: "done" },
        again: route(["fan", "done"], ({ output }) => (output < 2 ? "fan" : "done")),
      })
    const journal = memoryJournal()
    const result = await p.run({}, { journal, runId: "r" })
    expect(result).toMatchObject({ status: "done", step: "again", output: 2, steps: { fan: { visit: 2, twice: 4 } } })
    const finished = (await journal.read("r")).flatMap((entry) => (entry.type === "step.finished" ? [`${entry.step}#${entry.visit}`] : []))
    expect(finished.filter((key) => key.startsWith("fan"))).toEqual(
      expect.arrayContaining(["fan.visit#1", "fan.twice#1", "fan#1", "fan.visit#2", "fan.twice#2", "fan#2"]),
    )
  })

  it("rejects a nested parallel step as a branch at run time too (JavaScript callers), naming the branch; a human branch is accepted", () => {
    const added = (step: unknown) => () => pipeline({ id: "branches", input: z.object({}) }).step("fan", step as never)
    expect(added(parallel({ branches: { ask: human({ decision: z.boolean() }) as never } }))).not.toThrow()
    expect(added(parallel({ branches: { inner: parallel({ branches: { a: fn(() => 1) } }) as never } }))).toThrow(/branches.inner is a parallel step/)
    expect(added(parallel({ branches: {} }))).toThrow(/at least one branch/)
  })
})
