// Response cache (issue 22): an evaluation of 500 rows through a 2-step llm pipeline whose model
// answers after 200 ms (40 rows at a time), run once to fill a SQLite response cache on disk and
// again with a changed scorer. The second run must call no model and take under 10 % of the first.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { z } from "zod"
import { evaluate, exact, llm, type Model, pipeline, sqliteModelCache } from "../../src/index.ts"
import { type Row, row, type Workload } from "../measure.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const rows = quick ? 100 : 500
const concurrency = 40
const latencyMs = 200

const labeller = pipeline({ id: "bench-cached-eval", input: z.object({ text: z.string() }) })
  .step("label", llm({ model: "fast", prompt: ({ input }) => `Label: ${input.text}`, output: z.object({ label: z.enum(["a", "b"]) }) }))
  .step("explain", llm({ model: "fast", prompt: ({ input, steps }) => `Explain ${steps.label?.label} for ${input.text}` }))
  .edges({ label: "explain", explain: "done" })

export const responseCacheWorkload: Workload = {
  name: "response cache",
  run: async (): Promise<readonly Row[]> => {
    let calls = 0
    const model: Model = {
      provider: "bench",
      model: "slow-labeller",
      generate: (request) =>
        new Promise((resolve) => {
          calls += 1
          const text = request.output === undefined ? "because" : JSON.stringify({ label: String(request.messages.at(-1)?.content).endsWith("1") ? "b" : "a" })
          setTimeout(() => resolve({ text, usage: { inputTokens: 20, outputTokens: 5 } }), latencyMs)
        }),
    }
    const folder = mkdtempSync(join(tmpdir(), "switchboard-bench-cache-"))
    const modelCache = sqliteModelCache(join(folder, "model-cache.db"))
    try {
      const data = Array.from({ length: rows }, (_, index) => ({ input: { text: `row ${index}` }, expected: index % 10 === 1 ? "b" : "a" }))
      const label = exact<{ label: { label: string } }>({ actual: ({ steps }) => steps.label?.label })
      let started = performance.now()
      await evaluate({ pipeline: labeller, data, models: { fast: model }, modelCache, concurrency, scorers: { label } })
      const firstMs = performance.now() - started
      const firstCalls = calls
      calls = 0
      started = performance.now()
      const again = await evaluate({
        pipeline: labeller,
        data,
        models: { fast: model },
        modelCache,
        concurrency,
        scorers: { label, done: exact({ actual: ({ status }) => status, expected: () => "done" }) },
      })
      const secondMs = performance.now() - started
      return [
        row(`${rows} rows × 2 llm steps, ${latencyMs} ms model, concurrency ${concurrency}: first run`, firstMs, "ms"),
        row("first run: model calls", firstCalls, "calls"),
        row("re-run with the response cache: model calls", calls, "calls", 0),
        row("re-run with the response cache: wall time", secondMs, "ms"),
        row("re-run wall time / first run", (secondMs / firstMs) * 100, "%", 10),
        row("re-run rows scored done (sanity: must be 1)", again.scorers["done"]?.mean ?? 0, "mean"),
      ]
    } finally {
      modelCache.close()
      rmSync(folder, { recursive: true, force: true })
    }
  },
}
