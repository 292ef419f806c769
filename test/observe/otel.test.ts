import { context, type HrTime, SpanStatusCode, trace } from "@opentelemetry/api"
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { fn, human, memoryJournal, otelObserver, pipeline, type RunOptions } from "../../src/index.ts"
import { apiKey, bearer, finishingModel, password, runWithFakeTime, support, supportInput, supportModel } from "./support-pipeline.ts"

const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
const tracer = provider.getTracer("test")

// The in-memory exporter acknowledges each span on a timer: fake time must pass for a flush.
const flush = async () => {
  const flushing = provider.forceFlush()
  if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(10)
  await flushing
}
const ms = (time: HrTime) => time[0] * 1000 + time[1] / 1e6
const named = (spans: readonly ReadableSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name)
  if (found.length === 0) throw new Error(`no span named "${name}" among ${spans.map((span) => span.name).join(", ")}`)
  return found
}
const one = (spans: readonly ReadableSpan[], name: string) => named(spans, name)[0] as ReadableSpan
const parentOf = (span: ReadableSpan, spans: readonly ReadableSpan[]) =>
  spans.find((candidate) => candidate.spanContext().spanId === span.parentSpanContext?.spanId)?.name

const runSupport = async (options: Partial<RunOptions> & { readonly captureContent?: boolean } = {}) => {
  const { captureContent, ...runOptions } = options
  const result = await runWithFakeTime(() =>
    support.run(supportInput, {
      models: { fast: supportModel() },
      redact: { keys: ["password"] },
      observers: [otelObserver({ tracer, ...(captureContent === undefined ? {} : { captureContent }) })],
      ...runOptions,
    }),
  )
  await flush()
  return { result, spans: exporter.getFinishedSpans() }
}

describe("otelObserver", () => {
  beforeEach(() => {
    vi.useFakeTimers()
    exporter.reset()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("builds the span tree run → step → model call / tool call with GenAI attributes", async () => {
    const { result, spans } = await runSupport()
    expect(result.status).toBe("done")
    expect(spans.map((span) => span.name).sort()).toEqual([
      "chat gpt-test",
      "chat gpt-test",
      "execute_tool lookupOrder",
      "run support",
      "step answer",
      "step lookup",
    ])
    const run = one(spans, "run support")
    expect(run.parentSpanContext).toBeUndefined()
    expect(spans.every((span) => span.spanContext().traceId === run.spanContext().traceId)).toBe(true)
    expect(parentOf(one(spans, "step lookup"), spans)).toBe("run support")
    expect(parentOf(one(spans, "step answer"), spans)).toBe("run support")
    expect(parentOf(one(spans, "execute_tool lookupOrder"), spans)).toBe("step lookup")
    expect(named(spans, "chat gpt-test").map((span) => parentOf(span, spans))).toEqual(["step answer", "step answer"])

    expect(run.attributes).toMatchObject({ "switchboard.run.status": "done", "switchboard.pipeline": "support", "switchboard.run.id": result.runId })
    expect(run.status.code).not.toBe(SpanStatusCode.ERROR)
    expect(run.events.map((event) => [event.attributes?.["switchboard.route.from"], event.attributes?.["switchboard.route.to"]])).toContainEqual([
      "lookup",
      "answer",
    ])
    expect(one(spans, "execute_tool lookupOrder").attributes).toEqual({ "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookupOrder" })

    const [failed, answered] = named(spans, "chat gpt-test") as [ReadableSpan, ReadableSpan]
    expect(failed.status.code).toBe(SpanStatusCode.ERROR)
    expect(failed.attributes["error.type"]).toBe("server")
    expect(answered.status.code).toBe(SpanStatusCode.UNSET)
    expect(answered.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "scripted",
      "gen_ai.system": "scripted",
      "gen_ai.request.model": "gpt-test",
      "gen_ai.usage.input_tokens": 42,
      "gen_ai.usage.output_tokens": 7,
      "gen_ai.response.finish_reasons": ["stop"],
    })

    const step = one(spans, "step answer")
    expect(step.attributes).toMatchObject({ "switchboard.step.attempts": 2, "switchboard.step.next": "done", "switchboard.step.visit": 1 })
    expect(step.events.filter((event) => event.name === "switchboard.step.retry").map((event) => event.attributes)).toEqual([
      expect.objectContaining({ "switchboard.attempt": 1, "switchboard.retry.delay_ms": 100, "error.type": "server" }),
    ])
  })

  it("uses the events' times: children inside parents, calls in order, durations as measured", async () => {
    const { spans } = await runSupport()
    const run = one(spans, "run support")
    for (const span of spans) {
      expect(ms(span.endTime)).toBeGreaterThanOrEqual(ms(span.startTime))
      expect(ms(span.startTime)).toBeGreaterThanOrEqual(ms(run.startTime))
      expect(ms(span.endTime)).toBeLessThanOrEqual(ms(run.endTime))
    }
    const [failed, answered] = named(spans, "chat gpt-test") as [ReadableSpan, ReadableSpan]
    expect(ms(failed.endTime) - ms(failed.startTime)).toBe(40)
    expect(ms(answered.endTime) - ms(answered.startTime)).toBe(25)
    // the retry waited 100 ms between the failed call and the next one
    expect(ms(answered.startTime) - ms(failed.endTime)).toBeGreaterThanOrEqual(100)
    const step = one(spans, "step answer")
    expect(ms(failed.startTime)).toBeGreaterThanOrEqual(ms(step.startTime))
    expect(ms(answered.endTime)).toBeLessThanOrEqual(ms(step.endTime))
    expect(ms(one(spans, "step lookup").endTime)).toBeLessThanOrEqual(ms(step.startTime))
  })

  it("records prompts and responses only with captureContent, and never a secret", async () => {
    const { spans: quiet } = await runSupport()
    expect(JSON.stringify(quiet.map((span) => [span.attributes, span.events]))).not.toContain("Where is my parcel")

    exporter.reset()
    const { spans } = await runSupport({ captureContent: true })
    const details = named(spans, "chat gpt-test").map(
      (span) => span.events.find((event) => event.name === "gen_ai.client.inference.operation.details")?.attributes,
    )
    expect(JSON.parse(String(details[1]?.["gen_ai.system_instructions"]))).toEqual([{ type: "text", content: "You are support." }])
    expect(JSON.parse(String(details[1]?.["gen_ai.input.messages"]))).toEqual([
      { role: "user", parts: [{ type: "text", content: "Order shipped. Customer (key sk-***) asks: Where is my parcel?" }] },
    ])
    expect(JSON.parse(String(details[1]?.["gen_ai.output.messages"]))).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Your parcel is on its way." }], finish_reason: "stop" },
    ])
    expect(JSON.parse(String(one(spans, "execute_tool lookupOrder").attributes["gen_ai.tool.call.arguments"]))).toEqual({
      orderId: "A-1",
      password: "[redacted]",
    })

    const everything = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events, span.status]))
    for (const secret of [apiKey, password, bearer.slice("Bearer ".length)]) expect(everything).not.toContain(secret)
  })

  it("marks the failed call, step and run with status ERROR and the error type", async () => {
    const { result, spans } = await runSupport({ models: { fast: finishingModel([{ fail: "authentication", status: 401 }]) } })
    expect(result.status).toBe("failed")
    for (const name of ["chat gpt-test", "step answer", "run support"]) {
      expect(one(spans, name).status.code, name).toBe(SpanStatusCode.ERROR)
      expect(one(spans, name).attributes["error.type"], name).toBe("authentication")
    }
    expect(one(spans, "run support").attributes["switchboard.run.status"]).toBe("failed")
    expect(one(spans, "step lookup").status.code).toBe(SpanStatusCode.UNSET)
  })

  it("records what user code threw as the failed step's exception event: its class and stack", async () => {
    class UpstreamError extends Error {
      override readonly name = "UpstreamError"
    }
    const failing = pipeline({ id: "upstream", input: z.object({}) })
      .step(
        "fetch",
        fn(() => {
          throw new UpstreamError("503 from the inventory service")
        }),
      )
      .edges({ fetch: "done" })
    const result = await runWithFakeTime(() => failing.run({}, { observers: [otelObserver({ tracer })] }))
    await flush()
    expect(result.status).toBe("failed")
    const exception = one(exporter.getFinishedSpans(), "step fetch").events.find((event) => event.name === "exception")
    expect(exception?.attributes).toMatchObject({ "exception.type": "UpstreamError", "exception.message": "503 from the inventory service" })
    expect(String(exception?.attributes?.["exception.stacktrace"])).toContain("otel.test.ts")
  })

  it("parents the run span to the caller's active span", async () => {
    const manager = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(manager)
    try {
      const outer = tracer.startSpan("request")
      await context.with(trace.setSpan(context.active(), outer), () => runSupport())
      outer.end()
      await flush()
      const spans = exporter.getFinishedSpans()
      expect(parentOf(one(spans, "run support"), spans)).toBe("request")
    } finally {
      context.disable()
    }
  })

  it("ends a run paused on a human step and links its continuation", async () => {
    const review = pipeline({ id: "review", input: z.object({ text: z.string() }) })
      .step("check", human({ decision: z.object({ approve: z.boolean() }) }))
      .step(
        "publish",
        fn(() => "published"),
      )
      .edges({ check: "publish", publish: "done" })
    const journal = memoryJournal()
    const observers = [otelObserver({ tracer })]
    const paused = await review.run({ text: "hi" }, { journal, observers })
    expect(paused.status).toBe("awaiting-human")
    await flush()
    const first = exporter.getFinishedSpans()
    expect(one(first, "run review").attributes["switchboard.run.status"]).toBe("awaiting-human")
    expect(one(first, "step check").events.map((event) => event.name)).toContain("switchboard.human.waiting")

    exporter.reset()
    const done = await review.decide(paused.runId, "check", { approve: true }, { journal, observers })
    expect(done.status).toBe("done")
    await flush()
    const second = exporter.getFinishedSpans()
    const continued = one(second, "run review")
    expect(continued.attributes).toMatchObject({ "switchboard.run.status": "done", "switchboard.run.continued": true })
    expect(continued.links.map((link) => link.context.spanId)).toEqual([one(first, "run review").spanContext().spanId])
    expect(parentOf(one(second, "step publish"), second)).toBe("run review")
  })
})
