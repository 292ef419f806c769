import { describe, expect, it } from "vitest"
import { z } from "zod"
import { human, type JournalEntry, llm, type ModelRequest, memoryJournal, pipeline, replay, route, toEvalRow } from "../../src/index.ts"
import { replayModels, type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"

const Kind = z.object({ kind: z.enum(["refund", "bug"]), confidence: z.number() })

// A small triage pipeline whose route threshold and answer prompt a test can change.
const build = ({ threshold = 0.6, answerPrompt = (kind: string | undefined) => `Answer a ${kind} ticket` } = {}) =>
  pipeline({ id: "replayed", input: z.object({ ticket: z.string() }), policy: { retry: { attempts: 3, initialDelay: "1ms", jitter: false } } })
    .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
    .step("review", human({ decision: z.object({ kind: z.enum(["refund", "bug"]) }), timeout: "1h" }))
    .step("answer", llm({ model: "smart", system: "You are support.", prompt: ({ steps }) => answerPrompt(steps.review?.kind ?? steps.classify?.kind) }))
    .edges({
      classify: route(["review", "answer"], ({ output }) => (output.confidence < threshold ? "review" : "answer")),
      review: { next: "answer", timeout: "answer" },
      answer: "done",
    })

const classifier =
  (confidence: number): ScriptedReply =>
  (request: ModelRequest) => ({
    object: { kind: String(request.messages.at(-1)?.content).includes("crash") ? "bug" : "refund", confidence },
    usage: { inputTokens: 10, outputTokens: 5 },
  })

const record = async (ticket: string, options: { confidence?: number; rateLimited?: boolean; decision?: { kind: "refund" | "bug" } } = {}) => {
  const journal = memoryJournal()
  const fast = scriptedModel([
    ...(options.rateLimited === true ? [{ fail: "rate-limited" as const, retryAfterMs: 1 }] : []),
    classifier(options.confidence ?? 0.9),
  ])
  const smart = scriptedModel([(request) => `Reply to: ${String(request.messages.at(-1)?.content)}`])
  const triage = build()
  const handle = triage.start({ ticket }, { models: { fast, smart }, journal, runId: "recorded-1" })
  if (options.decision !== undefined) {
    for await (const event of handle.events) if (event.type === "human.waiting") handle.send("review", options.decision)
  }
  const result = await handle.result
  return { result, entries: await journal.read("recorded-1"), fast, smart }
}

const routes = (entries: readonly JournalEntry[]) => entries.flatMap((entry) => (entry.type === "route.taken" ? [`${entry.from}→${entry.to}`] : []))

describe("replay", () => {
  it("reproduces a recorded run exactly, offline: same outputs, routes and final output", async () => {
    const recorded = await record("The app crashes on start")
    const report = await replay(build(), recorded.entries)
    expect(report).toMatchObject({ identical: true, mismatches: [] })
    expect(report.divergence).toBeUndefined()
    expect(report.result).toMatchObject({ status: "done", step: "answer", output: "Reply to: Answer a bug ticket", runId: "recorded-1" })
    expect(routes(report.entries)).toEqual(routes(recorded.entries))
    expect(report.entries.filter((entry) => entry.type === "model.called").map((entry) => entry.type === "model.called" && entry.provider)).toEqual([
      "replay",
      "replay",
    ])
  })

  it("replays human decisions and skips a rate limit that was retried", async () => {
    const recorded = await record("I want my money back", { confidence: 0.3, rateLimited: true, decision: { kind: "bug" } })
    expect(recorded.entries.some((entry) => entry.type === "step.retried")).toBe(true)
    const report = await replay(build(), recorded.entries)
    expect(report.identical).toBe(true)
    expect(report.result).toMatchObject({ status: "done", output: "Reply to: Answer a bug ticket" })
    expect(report.entries.some((entry) => entry.type === "step.retried")).toBe(false)
    expect(routes(report.entries)).toEqual(["classify→review", "review→answer", "answer→done"])
  })

  it("pinpoints a changed route at the step that routed differently", async () => {
    const recorded = await record("I want my money back", { confidence: 0.7 })
    const report = await replay(build({ threshold: 0.8 }), recorded.entries)
    expect(report.identical).toBe(false)
    expect(report.divergence).toMatchObject({ step: "classify", visit: 1, kind: "route", expected: "answer", actual: "review" })
    expect(report.divergence?.message).toBe('step "classify" (visit 1) went to "answer" in the recording, to "review" in the replay')
  })

  it("pinpoints a changed prompt at the step whose model request changed", async () => {
    const recorded = await record("I want my money back")
    const report = await replay(build({ answerPrompt: (kind) => `Write a short answer to a ${kind} ticket` }), recorded.entries)
    expect(report.divergence).toMatchObject({ step: "answer", visit: 1, kind: "request" })
    expect(report.divergence?.message).toContain('user message 2 was "Answer a refund ticket", is "Write a short answer to a refund ticket"')
    // The step still gets its recorded answer, so the replay runs to the end.
    expect(report.result).toMatchObject({ status: "done", output: "Reply to: Answer a refund ticket" })
  })

  it("pinpoints a changed output when a step runs on a live model", async () => {
    const recorded = await record("I want my money back")
    const fast = scriptedModel([{ object: { kind: "bug", confidence: 0.9 } }])
    const report = await replay(build(), recorded.entries, { models: { fast } })
    expect(fast.calls).toHaveLength(1)
    expect(report.divergence).toMatchObject({
      step: "classify",
      kind: "output",
      expected: { output: { kind: "refund", confidence: 0.9 } },
      actual: { output: { kind: "bug", confidence: 0.9 } },
    })
  })

  it("reports a step the recording ran and the replay did not reach", async () => {
    const recorded = await record("I want my money back")
    const shorter = pipeline({ id: "replayed", input: z.object({ ticket: z.string() }) })
      .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
      .edges({ classify: "done" })
    const report = await replay(shorter, recorded.entries)
    expect(report.divergence).toMatchObject({ step: "classify", kind: "route", expected: "answer", actual: "done" })
  })

  it("replayModels answers plain runs by matching request messages, whatever the alias", async () => {
    const recorded = await record("The app crashes on start")
    const result = await build().run({ ticket: "The app crashes on start" }, { models: replayModels(recorded.entries) })
    expect(result).toMatchObject({ status: "done", output: "Reply to: Answer a bug ticket" })
    const other = await build().run({ ticket: "Something else entirely" }, { models: replayModels(recorded.entries) })
    expect(other).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "invalid-request" } })
  })

  it("turns a recorded run into an eval row", async () => {
    const recorded = await record("I want my money back", { confidence: 0.3, decision: { kind: "bug" } })
    expect(toEvalRow(recorded.entries)).toEqual({
      input: { ticket: "I want my money back" },
      expected: "Reply to: Answer a bug ticket",
      expectPath: ["classify", "review", "answer"],
      decisions: { review: { kind: "bug" } },
      metadata: { runId: "recorded-1" },
    })
    expect(() => toEvalRow([])).toThrow(/no run.started/)
  })
})
