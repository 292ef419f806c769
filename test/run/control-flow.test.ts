import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, llm, maxVisits, memoryJournal, pipeline, type RunEvent, route, when } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Kind = z.object({ kind: z.enum(["refund", "bug", "other"]), confidence: z.number() })

const triage = pipeline({ id: "triage", input: z.object({ ticket: z.string() }) })
  .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
  .step(
    "refund",
    fn(({ steps }) => `refund for ${steps.classify?.kind}`),
  )
  .step("answer", llm({ model: "fast", prompt: ({ steps, input }) => `Answer the ${steps.classify?.kind} ticket: ${input.ticket}` }))
  .step(
    "escalate",
    fn(() => "escalated"),
  )
  .edges({
    classify: route(["escalate", "refund", "answer"], ({ output }) => (output.confidence < 0.6 ? "escalate" : output.kind === "refund" ? "refund" : "answer")),
    refund: "done",
    answer: "done",
    escalate: "done",
  })

const routesOf = (events: readonly RunEvent[]) => events.flatMap((event) => (event.type === "route.taken" ? [`${event.from}→${event.to}`] : []))

describe("chains and routes", () => {
  it("runs a chain, passing typed earlier outputs into prompts", async () => {
    const model = scriptedModel([{ object: { kind: "bug", confidence: 0.9 } }, "We are fixing it."])
    const events: RunEvent[] = []
    const result = await triage.run({ ticket: "App crashes" }, { models: { fast: model }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", step: "answer", output: "We are fixing it." })
    expect(model.calls.map((call) => call.request.messages.at(-1)?.content)).toEqual(["Classify: App crashes", "Answer the bug ticket: App crashes"])
    expect(routesOf(events)).toEqual(["classify→answer", "answer→done"])
  })

  it.each([
    [{ kind: "refund", confidence: 0.95 }, "refund", "refund for refund"],
    [{ kind: "bug", confidence: 0.3 }, "escalate", "escalated"],
    [{ kind: "other", confidence: 0.9 }, "answer", "answered"],
  ])("routes %j to %s", async (classification, step, output) => {
    const result = await triage.run({ ticket: "t" }, { models: { fast: scriptedModel([{ object: classification }, "answered"]) } })
    expect(result).toMatchObject({ status: "done", step, output })
  })

  it("sends the output schema to the model and validates the answer", async () => {
    const model = scriptedModel([{ object: { kind: "bug", confidence: 0.9 } }, "ok"])
    await triage.run({ ticket: "t" }, { models: { fast: model } })
    expect(model.calls[0]?.request.output).toMatchObject({ name: "classify", jsonSchema: { type: "object", required: ["kind", "confidence"] } })
    expect(model.calls[1]?.request.output).toBeUndefined()
  })

  it("journals every event in order with consecutive sequence numbers", async () => {
    const journal = memoryJournal()
    const result = await triage.run(
      { ticket: "t" },
      { journal, runId: "run-1", models: { fast: scriptedModel([{ object: { kind: "refund", confidence: 1 } }]) } },
    )
    expect(result.runId).toBe("run-1")
    const entries = await journal.read("run-1")
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(entries.map((entry) => entry.type)).toEqual([
      "run.started",
      "step.started",
      "model.called",
      "step.finished",
      "route.taken",
      "step.started",
      "step.finished",
      "route.taken",
      "run.finished",
    ])
    expect(entries[2]).toMatchObject({
      type: "model.called",
      step: "classify",
      provider: "scripted",
      messages: [{ role: "user", content: "Classify: t" }],
      response: { text: '{"kind":"refund","confidence":1}' },
    })
    expect(entries[3]).toMatchObject({ type: "step.finished", step: "classify", next: "refund", attempts: 1, output: { kind: "refund", confidence: 1 } })
  })
})

describe("loops and stop rules", () => {
  const Critique = z.object({ score: z.number(), note: z.string() })
  const build = (stopped: "publish" | undefined) =>
    pipeline({ id: "writer", input: z.object({ topic: z.string() }) })
      .step(
        "draft",
        llm({
          model: "fast",
          prompt: ({ input, steps, visit }) => `Draft #${visit} on ${input.topic}. ${(steps.critique as { note?: string } | undefined)?.note ?? ""}`,
        }),
      )
      .step("critique", llm({ model: "fast", prompt: ({ steps }) => `Critique: ${steps.draft}`, output: Critique }))
      .step(
        "publish",
        fn(({ steps }) => `published: ${steps.draft}`),
      )
      .edges({
        draft: stopped === undefined ? { next: "critique", stop: maxVisits(3) } : { next: "critique", stop: maxVisits(3), stopped },
        critique: route(["draft", "publish"], ({ output }) => (output.score >= 8 ? "publish" : "draft")),
        publish: "done",
      })

  const lowScores = () =>
    scriptedModel([
      "d1",
      { object: { score: 2, note: "shorter" } },
      "d2",
      { object: { score: 4, note: "clearer" } },
      "d3",
      { object: { score: 6, note: "more" } },
    ])

  it("leaves the loop by its route when the output is good enough", async () => {
    const model = scriptedModel(["d1", { object: { score: 3, note: "n" } }, "d2", { object: { score: 9, note: "good" } }])
    const result = await build("publish").run({ topic: "owls" }, { models: { fast: model } })
    expect(result).toMatchObject({ status: "done", step: "publish", output: "published: d2" })
    expect(model.calls[2]?.request.messages[0]?.content).toBe("Draft #2 on owls. n")
  })

  it("follows the stopped edge when maxVisits fires", async () => {
    const model = lowScores()
    const events: RunEvent[] = []
    const result = await build("publish").run({ topic: "owls" }, { models: { fast: model }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", step: "publish", output: "published: d3", stoppedBy: { step: "draft", rule: "maxVisits(3)" } })
    expect(model.calls).toHaveLength(6)
    expect(routesOf(events).at(-2)).toBe("critique→publish")
  })

  it("ends the run stopped, naming the rule, without a stopped edge", async () => {
    const result = await build(undefined).run({ topic: "owls" }, { models: { fast: lowScores() } })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { step: "draft", rule: "maxVisits(3)" } })
    expect(result.steps).toMatchObject({ draft: "d3", critique: { score: 6 } })
  })

  it("supports named predicate rules", async () => {
    const p = pipeline({ id: "poller", input: z.object({ target: z.number() }) })
      .step(
        "poll",
        fn(({ visit }) => visit * 10),
      )
      .edges({
        poll: {
          next: route(["poll", "done"], () => "poll"),
          stop: when("reachedTarget", ({ steps, input }) => ((steps.poll as number | undefined) ?? 0) >= input.target),
        },
      })
    const result = await p.run({ target: 30 })
    expect(result).toMatchObject({ status: "stopped", stoppedBy: { step: "poll", rule: "reachedTarget" }, steps: { poll: 30 } })
  })
})

describe("failures route or end the run", () => {
  it("follows the error edge and exposes the error to later steps", async () => {
    const p = pipeline({ id: "guarded", input: z.object({}) })
      .step(
        "risky",
        fn((): number => {
          throw new Error("disk full")
        }),
      )
      .step(
        "recover",
        fn(() => "recovered"),
      )
      .edges({ risky: { next: "done", error: "recover" }, recover: "done" })
    const journal = memoryJournal()
    const result = await p.run({}, { journal, runId: "r" })
    expect(result).toMatchObject({ status: "done", step: "recover", output: "recovered" })
    const failed = (await journal.read("r")).find((entry) => entry.type === "step.failed")
    expect(failed).toMatchObject({ step: "risky", error: { _tag: "StepCodeError", message: "disk full" } })
  })

  it("fails the run with a typed error when no error edge exists", async () => {
    const p = pipeline({ id: "fragile", input: z.object({}) })
      .step(
        "risky",
        fn(async (): Promise<number> => Promise.reject(new Error("boom"))),
      )
      .edges({ risky: "done" })
    const result = await p.run({})
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "risky", message: "boom" } })
  })

  it("turns a route that returns an undeclared target into a RouteError", async () => {
    const p = pipeline({ id: "liar", input: z.object({}) })
      .step(
        "a",
        fn(() => 1),
      )
      .step(
        "b",
        fn(() => 2),
      )
      .edges({ a: route(["b"], () => "c" as "b"), b: "done" })
    const result = await p.run({})
    expect(result).toMatchObject({ status: "failed", error: { _tag: "RouteError", step: "a", target: "c" } })
  })

  it("rejects invalid run input with a typed error naming the field, running nothing", async () => {
    const model = scriptedModel([])
    const result = await triage.run({ ticket: 42 } as never, { models: { fast: model } })
    expect(result.status).toBe("failed")
    if (result.status !== "failed") return
    expect(result.error).toMatchObject({ _tag: "InputValidationError", issues: [{ path: "ticket" }] })
    expect(result.error.message).toContain("ticket")
    expect(model.calls).toHaveLength(0)
  })

  it("journals a failed model call with its typed error", async () => {
    const journal = memoryJournal()
    await triage.run({ ticket: "t" }, { journal, runId: "m", models: { fast: scriptedModel([{ fail: "authentication", status: 401 }]) } })
    const called = (await journal.read("m")).find((entry) => entry.type === "model.called")
    expect(called).toMatchObject({ step: "classify", error: { _tag: "ModelError", reason: "authentication", status: 401 } })
    expect(called).not.toHaveProperty("response")
  })

  it("fails with a ConfigurationError naming the missing model alias", async () => {
    const result = await triage.run({ ticket: "t" }, { models: { smart: scriptedModel([]) } })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ConfigurationError", step: "classify", message: expect.stringContaining('"fast"') } })
  })

  it("runs Effect-returning fn steps and keeps their typed failures", async () => {
    const { Effect } = await import("effect")
    const p = pipeline({ id: "effects", input: z.object({ n: z.number() }) })
      .step(
        "double",
        fn(({ input }) => Effect.succeed(input.n * 2)),
      )
      .step(
        "check",
        fn(({ steps }) => ((steps.double ?? 0) > 10 ? Effect.fail(new Error("too big")) : Effect.succeed("fine"))),
      )
      .edges({ double: "check", check: "done" })
    expect(await p.run({ n: 2 })).toMatchObject({ status: "done", output: "fine", steps: { double: 4 } })
    expect(await p.run({ n: 20 })).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "check", message: "too big" } })
  })
})
