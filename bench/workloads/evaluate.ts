// Evaluation throughput (issue 8): 1,000 rows through a 2-step llm pipeline whose scripted model
// answers after 50 ms, 50 rows at a time. The floor is rows / concurrency × steps × latency.
import { z } from "zod"
import { evaluate, exact, llm, pipeline } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"
import { type Row, row, type Workload } from "../measure.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const rows = quick ? 100 : 1_000
const concurrency = 50
const latencyMs = 50
const steps = 2

const labeller = pipeline({ id: "bench-eval", input: z.object({ text: z.string() }) })
  .step("label", llm({ model: "fast", prompt: ({ input }) => `Label: ${input.text}`, output: z.object({ label: z.enum(["a", "b"]) }) }))
  .step("explain", llm({ model: "fast", prompt: ({ steps }) => `Explain ${steps.label?.label}` }))
  .edges({ label: "explain", explain: "done" })

export const evaluateWorkload: Workload = {
  name: "evaluation throughput",
  run: async (): Promise<readonly Row[]> => {
    const model = scriptedModel(
      [
        (request) => ({
          delayMs: latencyMs,
          ...(request.output === undefined ? { text: "because" } : { object: { label: request.messages.at(-1)?.content.endsWith("1") ? "b" : "a" } }),
        }),
      ],
      { repeat: true },
    )
    const data = Array.from({ length: rows }, (_, index) => ({ input: { text: `row ${index % 2}` }, expected: index % 2 === 1 ? "b" : "a" }))
    const started = performance.now()
    const report = await evaluate({
      pipeline: labeller,
      data,
      models: { fast: model },
      concurrency,
      scorers: { label: exact<{ label: { label: string } }>({ actual: ({ steps }) => steps.label?.label }) },
    })
    const wallMs = performance.now() - started
    const floorMs = (rows / concurrency) * steps * latencyMs
    return [
      row(`${rows} rows, ${latencyMs} ms model, concurrency ${concurrency}: wall time`, wallMs, "ms"),
      row("ideal floor (rows / concurrency × steps × latency)", floorMs, "ms"),
      row("wall time / floor", wallMs / floorMs, "x", 1.5),
      row("rows scored correctly (sanity: must be all)", report.scorers["label"]?.mean ?? 0, "mean"),
    ]
  },
}
