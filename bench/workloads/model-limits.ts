// Shared limits (issue 22): 200 runs started at once, each one llm call to a model that answers
// after 50 ms and is limited to 10 calls in flight for the process. The peak is counted inside the
// model; the floor is 200 / 10 × 50 ms, and the model's busy span may exceed it by at most 10 %.
import { z } from "zod"
import { llm, type Model, pipeline } from "../../src/index.ts"
import { ModelLimiter } from "../../src/run/model-limiter.ts"
import { type Row, row, type Workload } from "../measure.ts"

const runs = 200
const inFlight = 10
const latencyMs = 50

const echo = pipeline({ id: "bench-limits", input: z.object({ text: z.string() }) })
  .step("say", llm({ model: "fast", prompt: ({ input }) => input.text }))
  .edges({ say: "done" })

export const modelLimitsWorkload: Workload = {
  name: "shared model limits",
  run: async (): Promise<readonly Row[]> => {
    const gauge = { now: 0, peak: 0, firstStart: Number.POSITIVE_INFINITY, lastEnd: 0 }
    const model: Model = {
      provider: "bench",
      model: "limited",
      generate: async (request) => {
        gauge.now += 1
        gauge.peak = Math.max(gauge.peak, gauge.now)
        gauge.firstStart = Math.min(gauge.firstStart, performance.now())
        await new Promise((resolve) => setTimeout(resolve, latencyMs))
        gauge.lastEnd = Math.max(gauge.lastEnd, performance.now())
        gauge.now -= 1
        return { text: String(request.messages.at(-1)?.content ?? "") }
      },
    }
    const limits = { "bench:limited": { inFlight } }
    // Warm the code paths so the measured run is not the JIT's first.
    await Promise.all(Array.from({ length: 20 }, (_, index) => echo.run({ text: `warm ${index}` }, { models: { fast: model }, limits })))
    Object.assign(gauge, { peak: 0, firstStart: Number.POSITIVE_INFINITY, lastEnd: 0 })
    const started = performance.now()
    const results = await Promise.all(Array.from({ length: runs }, (_, index) => echo.run({ text: `n${index}` }, { models: { fast: model }, limits })))
    const wallMs = performance.now() - started
    const floorMs = (runs / inFlight) * latencyMs
    // The model's own span (first call started to last call answered) measures the queue: the
    // runs' start-up and journaling around it are the orchestration's, reported as wall time.
    const spanMs = gauge.lastEnd - gauge.firstStart
    // The same calls through the queue alone, without runs around them: what the limiter itself costs.
    const bare = new ModelLimiter("bench:bare", { inFlight })
    const signal = new AbortController().signal
    const bareStarted = performance.now()
    await Promise.all(
      Array.from({ length: runs }, async () => {
        const slot = await bare.acquire(1, signal)
        await new Promise((resolve) => setTimeout(resolve, latencyMs))
        slot.release()
      }),
    )
    const bareMs = performance.now() - bareStarted
    return [
      row(`${runs} calls through the queue alone (no runs): span / floor`, bareMs / floorMs, "x"),
      row(`${runs} concurrent runs, ${latencyMs} ms model limited to ${inFlight} in flight: peak in flight`, gauge.peak, "calls", inFlight),
      row("ideal floor (runs / inFlight × latency)", floorMs, "ms"),
      row("model busy span (first call started to last answered)", spanMs, "ms"),
      row("span / floor (throughput within 10 % of inFlight × per-call rate)", spanMs / floorMs, "x", 1.1),
      row("wall time of all 200 runs", wallMs, "ms"),
      row("runs done (sanity: must be all)", results.filter((result) => result.status === "done").length, "runs"),
    ]
  },
}
