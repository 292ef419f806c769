import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { formatEvent } from "../../src/cli/progress.ts"
import { fn, map, otelObserver, parallel, pipeline, subpipeline } from "../../src/index.ts"

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
const tracer = provider.getTracer("test")
const parentOf = (span: ReadableSpan, spans: readonly ReadableSpan[]) =>
  spans.find((candidate) => candidate.spanContext().spanId === span.parentSpanContext?.spanId)?.name

describe("observing fan-out steps", () => {
  it("nests the spans of branches, items and child steps under the span of their step", async () => {
    const child = pipeline({ id: "child", input: z.object({ n: z.number() }) })
      .step(
        "square",
        fn(({ input }) => input.n * input.n),
      )
      .edges({ square: "done" })
    const p = pipeline({ id: "spans", input: z.object({ numbers: z.array(z.number()) }) })
      .step("fan", parallel({ branches: { count: fn(({ input }) => input.numbers.length), first: fn(({ input }) => input.numbers[0] ?? 0) } }))
      .step("squares", map({ over: ({ input }) => input.numbers.map((n) => ({ n })), each: child, concurrency: 2 }))
      .step("total", subpipeline(child, { input: ({ steps }) => ({ n: steps.fan?.count ?? 0 }) }))
      .edges({ fan: "squares", squares: "total", total: "done" })
    exporter.reset()
    const result = await p.run({ numbers: [2, 3] }, { observers: [otelObserver({ tracer })] })
    expect(result).toMatchObject({ status: "done", output: 4, steps: { squares: [4, 9] } })
    await provider.forceFlush()
    const spans = exporter.getFinishedSpans()
    const parents = Object.fromEntries(spans.filter((span) => span.name.startsWith("step ")).map((span) => [span.name, parentOf(span, spans)]))
    expect(parents).toEqual({
      "step fan": "run spans",
      "step fan.count": "step fan",
      "step fan.first": "step fan",
      "step squares": "run spans",
      "step squares[0]": "step squares",
      "step squares[1]": "step squares",
      "step squares[0].square": "step squares[0]",
      "step squares[1].square": "step squares[1]",
      "step total": "run spans",
      "step total.square": "step total",
    })
  })
})

describe("progress lines of fan-out steps", () => {
  it("shows how many items a map fans out to", () => {
    expect(formatEvent({ type: "map.listed", runId: "r", step: "summaries", visit: 1, count: 12, fingerprint: "f", at: 0 })).toBe("≡ summaries: 12 items")
    expect(formatEvent({ type: "map.listed", runId: "r", step: "summaries", visit: 1, count: 1, fingerprint: "f", at: 0 })).toBe("≡ summaries: 1 item")
  })
})
