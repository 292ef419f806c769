import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, human, llm, map, maxVisits, memoryJournal, pipeline, type RunEvent, route, subpipeline } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Kind = z.object({ kind: z.enum(["bug", "refund"]) })
const classify = pipeline({ id: "classify", input: z.object({ ticket: z.string() }) })
  .step("label", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
  .step(
    "tag",
    fn(({ steps }) => `#${steps.label?.kind}`),
  )
  .edges({ label: "tag", tag: "done" })

describe("nested pipelines", () => {
  it("runs the child as one step: its steps appear in the parent's events and journal under the step's path", async () => {
    const parent = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
      .step("triage", subpipeline(classify, { input: ({ input }) => ({ ticket: input.ticket.trim() }) }))
      .step(
        "answer",
        fn(({ steps }) => `routed ${steps.triage}`),
      )
      .edges({ triage: "answer", answer: "done" })
    const model = scriptedModel([{ object: { kind: "bug" } }])
    const journal = memoryJournal()
    const events: RunEvent[] = []
    const result = await parent.run({ ticket: "  it crashes " }, { models: { fast: model }, journal, runId: "r", onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: "routed #bug", steps: { triage: "#bug" } })
    expect(model.calls[0]?.request.messages.at(-1)?.content).toBe("Classify: it crashes")
    const steps = (await journal.read("r")).flatMap((entry) =>
      entry.type === "step.started" || entry.type === "step.finished" || entry.type === "model.called" ? [`${entry.type} ${entry.step}`] : [],
    )
    expect(steps).toEqual([
      "step.started triage",
      "step.started triage.label",
      "model.called triage.label",
      "step.finished triage.label",
      "step.started triage.tag",
      "step.finished triage.tag",
      "step.finished triage",
      "step.started answer",
      "step.finished answer",
    ])
    // Only the parent's own steps are routes of the parent.
    expect(events.filter((event) => event.type === "route.taken").map((event) => event.type === "route.taken" && event.to)).toEqual(["answer", "done"])
  })

  it("journals a map over a pipeline as <step>[<index>].<child step>, with usage counted once", async () => {
    const parent = pipeline({ id: "batch", input: z.object({ tickets: z.array(z.string()) }) })
      .step("labels", map({ over: ({ input }) => input.tickets.map((ticket) => ({ ticket })), each: classify, concurrency: 2 }))
      .edges({ labels: "done" })
    const model = scriptedModel([{ object: { kind: "bug" } }, { object: { kind: "refund" } }], { usage: { inputTokens: 10, outputTokens: 2 } })
    const journal = memoryJournal()
    const result = await parent.run({ tickets: ["a", "b"] }, { models: { fast: model }, journal, runId: "r" })
    expect(result.status).toBe("done")
    if (result.status !== "done") return
    expect([...result.output].sort()).toEqual(["#bug", "#refund"])
    expect(result.usage).toMatchObject({ calls: 2, inputTokens: 20, outputTokens: 4 })
    const finished = (await journal.read("r")).flatMap((entry) => (entry.type === "step.finished" ? [entry.step] : []))
    expect(finished.sort()).toEqual(["labels", "labels[0]", "labels[0].label", "labels[0].tag", "labels[1]", "labels[1].label", "labels[1].tag"])
  })

  it("nests a map inside a child pipeline inside a map, each level under its own path", async () => {
    const words = pipeline({ id: "words", input: z.object({ line: z.string() }) })
      .step("each", map({ over: ({ input }) => input.line.split(" "), each: fn(({ input }: { input: string }) => input.length), concurrency: 2 }))
      .edges({ each: "done" })
    const parent = pipeline({ id: "lines", input: z.object({ lines: z.array(z.string()) }) })
      .step("lines", map({ over: ({ input }) => input.lines.map((line) => ({ line })), each: words, concurrency: 2 }))
      .edges({ lines: "done" })
    const journal = memoryJournal()
    const result = await parent.run({ lines: ["a bb", "ccc"] }, { journal, runId: "r" })
    expect(result).toMatchObject({ status: "done", output: [[1, 2], [3]] })
    const finished = (await journal.read("r")).flatMap((entry) => (entry.type === "step.finished" ? [entry.step] : []))
    expect(finished.sort()).toEqual([
      "lines",
      "lines[0]",
      "lines[0].each",
      "lines[0].each[0]",
      "lines[0].each[1]",
      "lines[1]",
      "lines[1].each",
      "lines[1].each[0]",
    ])
  })

  it("reports the child's actor to the run's inspection observer", async () => {
    const parent = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
      .step("triage", subpipeline(classify, { input: ({ input }) => input }))
      .edges({ triage: "done" })
    const machines = new Set<string>()
    await parent.run(
      { ticket: "x" },
      {
        models: { fast: scriptedModel([{ object: { kind: "bug" } }]) },
        inspect: (event) => {
          const logic = (event.actorRef as { logic?: { id?: string } }).logic
          if (event.type === "@xstate.actor" && typeof logic?.id === "string") machines.add(logic.id)
        },
      },
    )
    expect([...machines].sort()).toEqual(["classify", "support"])
  })

  it("gives the child run of a second visit (a loop) its own path", async () => {
    const parent = pipeline({ id: "retriage", input: z.object({ ticket: z.string() }) })
      .step("triage", subpipeline(classify, { input: ({ input, visit }) => ({ ticket: `${input.ticket} #${visit}` }) }))
      .edges({ triage: { next: route(["triage", "done"], ({ visit }) => (visit < 2 ? "triage" : "done")), stop: maxVisits(3) } })
    const model = scriptedModel([{ object: { kind: "bug" } }, { object: { kind: "refund" } }])
    const journal = memoryJournal()
    expect(await parent.run({ ticket: "x" }, { models: { fast: model }, journal, runId: "r" })).toMatchObject({ status: "done", output: "#refund" })
    const finished = (await journal.read("r")).flatMap((entry) => (entry.type === "step.finished" ? [`${entry.step}#${entry.visit}`] : []))
    expect(finished).toEqual(["triage.label#1", "triage.tag#1", "triage#1", "triage#2.label#1", "triage#2.tag#1", "triage#2"])
  })

  it("routes a failing child through the parent's error edge, with the error naming the child step", async () => {
    const parent = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
      .step("triage", subpipeline(classify, { input: ({ input }) => input }))
      .step(
        "manual",
        fn(({ input }) => `manual: ${input.ticket}`),
      )
      .edges({ triage: { next: "done", error: "manual" }, manual: "done" })
    const model = scriptedModel([{ fail: "authentication" }])
    const journal = memoryJournal()
    const result = await parent.run({ ticket: "x" }, { models: { fast: model }, journal, runId: "r" })
    expect(result).toMatchObject({ status: "done", output: "manual: x" })
    const failed = (await journal.read("r")).flatMap((entry) =>
      entry.type === "step.failed" ? [[entry.step, entry.error._tag, "step" in entry.error ? entry.error.step : undefined]] : [],
    )
    expect(failed).toEqual([
      ["triage.label", "ModelError", "triage.label"],
      ["triage", "ModelError", "triage.label"],
    ])
  })

  it("cancelling the parent run cancels the child's step in flight", async () => {
    const model = scriptedModel([{ hang: true }])
    const parent = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
      .step("triage", subpipeline(classify, { input: ({ input }) => input }))
      .edges({ triage: "done" })
    const handle = parent.start({ ticket: "x" }, { models: { fast: model } })
    for await (const event of handle.events) {
      if (event.type === "step.started" && event.step === "triage.label") break
    }
    await new Promise((resolve) => setImmediate(resolve))
    handle.cancel("user left")
    const result = await handle.result
    expect(result).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
    expect(model.calls[0]?.aborted).toBe(true)
  })

  it("fails the step with a clear error when the child's input does not fit its schema", async () => {
    const parent = pipeline({ id: "support", input: z.object({ ticket: z.unknown() }) })
      .step("triage", subpipeline(classify, { input: ({ input }) => input as { ticket: string } }))
      .edges({ triage: "done" })
    const result = await parent.run({ ticket: 42 })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "triage" } })
    if (result.status === "failed") expect(result.error.message).toMatch(/input of nested pipeline "classify" is invalid: ticket: /)
  })

  it("accepts a child pipeline with human steps (they wait under the step's path)", () => {
    const withHuman = pipeline({ id: "approval", input: z.object({}) })
      .step("approve", human({ decision: z.boolean() }))
      .edges({ approve: "done" })
    expect(() => pipeline({ id: "parent", input: z.object({}) }).step("review", subpipeline(withHuman, { input: () => ({}) }))).not.toThrow()
  })
})
