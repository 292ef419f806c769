import { describe, expect, it } from "vitest"
import { z } from "zod"
import { llm, memoryJournal, pipeline, type RunEvent } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Invoice = z.object({ total: z.number(), currency: z.enum(["EUR", "USD"]) })
const extract = (options: { repair?: number; fallback?: string[] } = {}) =>
  pipeline({ id: "extract", input: z.object({ text: z.string() }) })
    .step("extract", llm({ model: "primary", prompt: ({ input }) => `Extract: ${input.text}`, output: Invoice, ...options }))
    .edges({ extract: "done" })

describe("structured output repair", () => {
  it("sends the failed answer back with its issues and accepts the repaired one", async () => {
    const model = scriptedModel(["not json", { object: { total: "12", currency: "EUR" } }, { object: { total: 12, currency: "EUR" } }])
    const events: RunEvent[] = []
    const result = await extract({ repair: 2 }).run({ text: "12 EUR" }, { models: { primary: model }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: { total: 12, currency: "EUR" } })
    const repairs = events.filter((event) => event.type === "model.repair")
    expect(repairs).toMatchObject([
      { repair: 1, issues: [{ path: "(root)" }] },
      { repair: 2, issues: [{ path: "total", message: expect.stringContaining("expected number") }] },
    ])
    // each re-ask carries only the last failed answer, never the whole history
    const [first, second, third] = model.calls.map((call) => call.request.messages)
    expect(first).toHaveLength(1)
    expect(second?.slice(1)).toMatchObject([
      { role: "assistant", content: "not json" },
      { role: "user", content: expect.stringContaining("is not valid JSON") },
    ])
    expect(third).toHaveLength(3)
    expect(third?.[1]).toMatchObject({ role: "assistant", content: '{"total":"12","currency":"EUR"}' })
    expect(third?.[2]?.content).toContain("- total:")
  })

  it("fails with invalid-output carrying the issues and the raw text once repairs are spent, without retrying", async () => {
    const model = scriptedModel([{ object: { total: 1, currency: "GBP" } }], { repeat: true })
    const result = await extract({ repair: 1 }).run({ text: "x" }, { models: { primary: model } })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "ModelError", reason: "invalid-output", retryable: false, issues: [{ path: "currency" }], rawText: '{"total":1,"currency":"GBP"}' },
    })
    expect(model.calls).toHaveLength(2)
  })

  it("moves on to the fallback model when repairs are spent", async () => {
    const primary = scriptedModel(["nope"], { repeat: true })
    const backup = scriptedModel([{ object: { total: 3, currency: "USD" } }])
    const result = await extract({ repair: 1, fallback: ["backup"] }).run({ text: "x" }, { models: { primary, backup } })
    expect(result).toMatchObject({ status: "done", output: { total: 3, currency: "USD" } })
    expect(primary.calls).toHaveLength(2)
  })

  it("accepts JSON wrapped in a Markdown code fence", async () => {
    const model = scriptedModel(['```json\n{"total": 5, "currency": "USD"}\n```'])
    expect(await extract().run({ text: "x" }, { models: { primary: model } })).toMatchObject({ status: "done", output: { total: 5 } })
  })
})

describe("usage and cost", () => {
  it("counts tokens and cost per step and per run, from the price table", async () => {
    const p = pipeline({ id: "two-calls", input: z.object({}) })
      .step("first", llm({ model: "fast", prompt: () => "a" }))
      .step("second", llm({ model: "fast", prompt: () => "b" }))
      .edges({ first: "second", second: "done" })
    const fast = scriptedModel(
      [
        { text: "x", usage: { inputTokens: 1_000, outputTokens: 500, cachedInputTokens: 400 } },
        { text: "y", usage: { inputTokens: 2_000, outputTokens: 0 } },
      ],
      { name: "tiny" },
    )
    const journal = memoryJournal()
    const result = await p.run({}, { models: { fast }, journal, runId: "u", prices: { "scripted:tiny": { input: 1, output: 10, cachedInput: 0.5 } } })
    // first: 600 × $1 + 400 × $0.5 + 500 × $10 per million = $0.0058; second: 2000 × $1 per million = $0.002
    expect(result.usage).toEqual({ inputTokens: 3_000, outputTokens: 500, cachedInputTokens: 400, costUsd: 0.0078, calls: 2, unpricedCalls: 0 })
    const finished = (await journal.read("u")).filter((entry) => entry.type === "step.finished")
    expect(finished.map((entry) => entry.type === "step.finished" && entry.usage?.costUsd)).toEqual([0.0058, 0.002])
  })

  it("never guesses a price: unknown models count as unpriced calls", async () => {
    const p = pipeline({ id: "one", input: z.object({}) })
      .step("only", llm({ model: "fast", prompt: () => "a" }))
      .edges({ only: "done" })
    const fast = scriptedModel([{ text: "x", usage: { inputTokens: 10, outputTokens: 10 } }], { name: "unknown-model" })
    const result = await p.run({}, { models: { fast } })
    expect(result.usage).toMatchObject({ costUsd: 0, calls: 1, unpricedCalls: 1, inputTokens: 10 })
  })
})

describe("streaming", () => {
  it("surfaces text chunks as model.delta events that are never journaled", async () => {
    const p = pipeline({ id: "stream", input: z.object({}) })
      .step("write", llm({ model: "fast", prompt: () => "go", stream: true }))
      .edges({ write: "done" })
    const journal = memoryJournal()
    const handle = p.start({}, { models: { fast: scriptedModel(["Hello there, friend."]) }, journal, runId: "s" })
    const deltas: string[] = []
    for await (const event of handle.events) if (event.type === "model.delta") deltas.push(event.text)
    expect(await handle.result).toMatchObject({ status: "done", output: "Hello there, friend." })
    expect(deltas).toEqual(["Hello ", "there, ", "friend."])
    expect((await journal.read("s")).some((entry) => entry.type === "model.delta")).toBe(false)
  })
})
