import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  compareToBaseline,
  DatasetError,
  type EvalRow,
  evaluate,
  exact,
  expectPath,
  fn,
  human,
  includes,
  llm,
  llmJudge,
  type ModelRequest,
  numeric,
  pipeline,
  regex,
  route,
  schemaValid,
  toHtmlReport,
  toMarkdownReport,
} from "../../../src/index.ts"
import { scriptedModel } from "../../../src/testing/index.ts"

const Kind = z.object({ kind: z.enum(["refund", "bug", "question"]), confidence: z.number() })
type Steps = { classify: z.infer<typeof Kind>; review: { kind: string }; answer: string; escalate: string }

let active = 0
let peak = 0
const triage = pipeline({ id: "eval-triage", input: z.object({ ticket: z.string() }) })
  .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
  .step("review", human({ decision: z.object({ kind: z.string() }), timeout: "1h" }))
  .step(
    "answer",
    fn(async ({ steps }) => {
      active++
      peak = Math.max(peak, active)
      await new Promise((resolve) => setTimeout(resolve, 5))
      active--
      return `Thanks! Your ${steps.review?.kind ?? steps.classify?.kind} ticket is handled.`
    }),
  )
  .step(
    "escalate",
    fn(() => "escalated"),
  )
  .edges({
    classify: route(["review", "answer"], ({ output }) => (output.confidence < 0.5 ? "review" : "answer")),
    review: { next: "answer", timeout: "escalate" },
    answer: "done",
    escalate: "done",
  })

// "money" → refund, "crash" → bug, else question; "unsure" lowers confidence; "busy" is rate-limited once.
const model = () => {
  const limited = new Set<string>()
  return scriptedModel(
    [
      (request: ModelRequest) => {
        const text = String(request.messages.at(-1)?.content)
        if (text.includes("busy") && !limited.has(text)) {
          limited.add(text)
          return { fail: "rate-limited", retryAfterMs: 1 }
        }
        const kind = text.includes("money") ? "refund" : text.includes("crash") ? "bug" : "question"
        return { object: { kind, confidence: text.includes("unsure") ? 0.2 : 0.9 }, usage: { inputTokens: 10, outputTokens: 4 } }
      },
    ],
    { repeat: true, name: "kinds" },
  )
}

const rows: EvalRow[] = [
  { id: "a", input: { ticket: "money back" }, expected: "refund", expectPath: ["classify", "answer"] },
  { id: "b", input: { ticket: "it will crash" }, expected: "bug", expectPath: ["classify", "answer"] },
  { id: "c", input: { ticket: "money, crash" }, expected: "bug", expectPath: ["classify", "answer"] }, // the model says refund
  { id: "d", input: { ticket: "unsure, money" }, expected: "refund", expectPath: ["classify", "review", "answer"], decisions: { review: { kind: "refund" } } },
  { id: "e", input: { ticket: "unsure about it" }, expected: "question", expectPath: ["classify", "review", "answer"] }, // nobody decides
  { id: "f", input: { ticket: "busy, how do I log in" }, expected: "question" },
]

const scorers = {
  kind: exact<Steps>({ actual: ({ steps }) => steps.classify?.kind }),
  path: expectPath<Steps>(),
  thanks: includes<Steps>("Thanks"),
}

describe("evaluate", () => {
  it("computes known per-row scores, means, totals and transition coverage with a scripted model", async () => {
    const report = await evaluate({
      pipeline: triage,
      data: rows,
      scorers,
      models: { fast: model() },
      prices: { "scripted:kinds": { input: 1, output: 2 } },
      concurrency: 3,
    })
    expect(report.rows.map((row) => [row.id, row.status, row.scores["kind"]?.score, row.scores["path"]?.score ?? null, row.scores["thanks"]?.score])).toEqual([
      ["a", "done", 1, 1, 1],
      ["b", "done", 1, 1, 1],
      ["c", "done", 0, 1, 1],
      ["d", "done", 1, 1, 1],
      ["e", "awaiting-human", 1, 0, 0],
      ["f", "done", 1, null, 1],
    ])
    expect(report.rows[2]?.scores["kind"]?.reason).toBe('expected "bug", got "refund"')
    expect(report.rows[4]?.scores["path"]?.reason).toBe("step 3: expected answer, took (end) (path classify → review)")
    expect(report.rows[4]?.error).toBe("waits for a decision on review (give the row decisions.review)")
    expect(report.scorers).toEqual({
      kind: { mean: 0.833333, scored: 6, perfect: 5 },
      path: { mean: 0.8, scored: 5, perfect: 4 },
      thanks: { mean: 0.833333, scored: 6, perfect: 5 },
    })
    expect(report.rows[5]).toMatchObject({ retries: 1, path: ["classify", "answer"], inputTokens: 10, outputTokens: 4, costUsd: 0.000018 })
    expect(report.totals).toMatchObject({ rows: 6, done: 5, failed: 0, awaitingHuman: 1, retries: 1, inputTokens: 60, outputTokens: 24, costUsd: 0.000108 })
    expect(report.coverage).toMatchObject({
      declared: 6,
      ratio: 0.6667,
      uncovered: [
        { from: "review", to: "escalate" },
        { from: "escalate", to: "done" },
      ],
    })
    expect(report.coverage.covered).toContainEqual({ from: "classify", to: "answer", count: 4 })
  })

  it("runs at most `concurrency` rows at once and reports progress for each", async () => {
    const many = Array.from({ length: 12 }, (_, index) => ({ input: { ticket: `crash ${index}` }, expected: "bug" }))
    const progress: number[] = []
    peak = 0
    const report = await evaluate({
      pipeline: triage,
      data: many,
      scorers,
      models: { fast: model() },
      concurrency: 3,
      onProgress: ({ done, total }) => progress.push(done / total),
    })
    expect(peak).toBe(3)
    expect(progress).toHaveLength(12)
    expect(progress.at(-1)).toBe(1)
    expect(report.scorers["kind"]?.mean).toBe(1)
  })

  it("lets a human step expire for rows that say so, covering the timeout route", async () => {
    const report = await evaluate({
      pipeline: triage,
      data: [{ input: { ticket: "unsure" }, expire: ["review"], expectPath: ["classify", "review", "escalate"] }],
      scorers,
      models: { fast: model() },
    })
    expect(report.rows[0]).toMatchObject({ status: "done", output: "escalated", scores: { path: { score: 1 } } })
    expect(report.coverage.covered.map((transition) => `${transition.from}→${transition.to}`)).toEqual(["classify→review", "review→escalate", "escalate→done"])
  })

  it("scores with regex, numeric tolerance, schemas, custom functions and a scorer that throws", async () => {
    const report = await evaluate({
      pipeline: triage,
      data: [{ input: { ticket: "money" }, expected: 0.85 }],
      models: { fast: model() },
      scorers: {
        polite: regex<Steps>(/thanks/gi),
        confidence: numeric<Steps>({ tolerance: 0.05, actual: ({ steps }) => steps.classify?.confidence }),
        tight: numeric<Steps>({ tolerance: 0.01, actual: ({ steps }) => steps.classify?.confidence }),
        shape: schemaValid<Steps>(Kind, { actual: ({ steps }) => steps.classify }),
        notShape: schemaValid<Steps>(z.string()),
        length: ({ output }) => ({ score: String(output).length < 30 ? 1 : 0.5, reason: `${String(output).length} characters` }),
        broken: () => {
          throw new Error("oops")
        },
        outOfRange: () => ({ score: 2, reason: "too generous" }),
      },
    })
    const scores = report.rows[0]?.scores ?? {}
    expect(Object.fromEntries(Object.entries(scores).map(([name, verdict]) => [name, verdict?.score]))).toEqual({
      polite: 1,
      confidence: 1,
      tight: 0,
      shape: 1,
      notShape: 1,
      length: 0.5,
      broken: 0,
      outOfRange: 0,
    })
    expect(scores["tight"]?.reason).toMatch(/^0\.9 is 0\.05\d* away from 0\.85 \(tolerance 0\.01\)$/)
    expect(scores["broken"]?.reason).toBe("scorer threw: oops")
    expect(scores["outOfRange"]?.reason).toBe("scorer returned score 2, outside 0..1")
  })

  it("asks an LLM judge for a zod-validated verdict, and scores 0 when the verdict stays invalid", async () => {
    const judge = scriptedModel([{ object: { score: 0.7, reason: "polite but vague" } }, "not json", { object: { score: 3, reason: "" } }])
    const judged = await evaluate({
      pipeline: triage,
      data: [{ input: { ticket: "money" }, expected: "refund" }],
      models: { fast: model(), judge },
      scorers: { tone: llmJudge<Steps>({ model: "judge", rubric: "Polite and specific." }) },
    })
    expect(judged.rows[0]?.scores["tone"]).toEqual({ score: 0.7, reason: "polite but vague" })
    const prompt = String(judge.calls[0]?.request.messages.at(-1)?.content)
    expect(prompt).toContain("Rubric:\nPolite and specific.")
    expect(prompt).toContain("Expected (reference):\nrefund")
    expect(prompt).toContain("Output to grade:\nThanks! Your refund ticket is handled.")
    const failing = await evaluate({
      pipeline: triage,
      data: [{ input: { ticket: "money" } }],
      models: { fast: model(), judge },
      scorers: { tone: llmJudge<Steps>({ model: "judge", rubric: "Polite." }) },
    })
    expect(failing.rows[0]?.scores["tone"]?.score).toBe(0)
    expect(failing.rows[0]?.scores["tone"]?.reason).toMatch(/^judge verdict is invalid: score: /)
  })

  it("refuses rows whose input does not match the pipeline input, naming them", async () => {
    const bad = [{ input: { ticket: "ok" } }, { input: { text: "wrong" } }, { input: 3 }]
    const rejected = evaluate({ pipeline: triage, data: bad, scorers, models: { fast: model() } })
    await expect(rejected).rejects.toBeInstanceOf(DatasetError)
    await expect(rejected).rejects.toThrow(
      'data row 2: input does not match the input of pipeline "eval-triage": ticket: Invalid input: expected string, received undefined (and 1 more row: 3)',
    )
  })
})

describe("baseline and reports", () => {
  it("flags a scorer whose mean fell by more than the threshold, not one within it", async () => {
    const report = await evaluate({ pipeline: triage, data: rows.slice(0, 3), scorers, models: { fast: model() } })
    const baseline = {
      ...report,
      scorers: { kind: { mean: 0.7, scored: 3, perfect: 2 }, path: { mean: 1, scored: 3, perfect: 3 }, gone: { mean: 0.5, scored: 3, perfect: 0 } },
    }
    // kind: 0.666667 vs 0.7 is within 0.05; gone is no longer scored.
    expect(compareToBaseline(report, baseline, { threshold: 0.05 })).toEqual([{ scorer: "gone", baseline: 0.5, current: null, delta: null }])
    expect(compareToBaseline(report, baseline, { threshold: 0.02 })).toEqual([
      { scorer: "kind", baseline: 0.7, current: 0.666667, delta: -0.033333 },
      { scorer: "gone", baseline: 0.5, current: null, delta: null },
    ])
    expect(compareToBaseline(report, report)).toEqual([])
  })

  it("renders Markdown and self-contained, escaped HTML", async () => {
    const report = await evaluate({
      pipeline: triage,
      data: [{ id: "<b>x</b>", input: { ticket: "money <script>" }, expected: "bug" }],
      scorers,
      models: { fast: model() },
    })
    const markdown = toMarkdownReport(report, [{ scorer: "kind", baseline: 1, current: 0, delta: -1 }])
    expect(markdown).toContain("| kind | 0.0% | 1 | 0 |")
    expect(markdown).toContain("- review → escalate")
    expect(markdown).toContain("## Regressions\n- kind: 100.0% → 0.0%")
    const html = toHtmlReport(report)
    expect(html).toContain("&lt;b&gt;x&lt;/b&gt;")
    expect(html).not.toContain("<script>")
    expect(html).not.toMatch(/<link|src=|https?:/)
    expect(html).toContain('title="expected &quot;bug&quot;, got &quot;refund&quot;"')
  })
})
