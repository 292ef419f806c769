// Shared limits (`limits`, `setModelLimits`): one queue per model in the process, across runs,
// branches and map items; a 429 pauses it for everyone; waiting spends the step's time.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import {
  llm,
  type Model,
  ModelError,
  ModelLimitError,
  map,
  pipeline,
  type RunEvent,
  type RunResult,
  setModelLimits,
  sqliteJournal,
  worker,
} from "../../src/index.ts"
import { ModelLimiter } from "../../src/run/model-limiter.ts"
import { modelLimiter } from "../../src/run/model-limits.ts"

afterEach(() => {
  vi.useRealTimers()
  setModelLimits({})
})

// A model that counts how many of its calls are in flight at once; each call takes `delayMs`.
const gaugedModel = (name: string, delayMs: number) => {
  const gauge = { now: 0, peak: 0, calls: 0 }
  const model: Model = {
    provider: "test",
    model: name,
    generate: async (request) => {
      gauge.now += 1
      gauge.calls += 1
      gauge.peak = Math.max(gauge.peak, gauge.now)
      await new Promise((resolve) => setTimeout(resolve, delayMs))
      gauge.now -= 1
      return { text: String(request.messages.at(-1)?.content ?? ""), usage: { inputTokens: 5, outputTokens: 5 } }
    },
  }
  return { model, gauge }
}

const echo = pipeline({ id: "echo", input: z.object({ text: z.string() }) })
  .step("say", llm({ model: "fast", prompt: ({ input }) => input.text }))
  .edges({ say: "done" })

describe("shared model limits", () => {
  it("200 concurrent runs through one model limited to 10 in flight: never more than 10", async () => {
    // Every call holds its slot until the test opens the gate: all 200 runs contend at once.
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => (open = resolve))
    const gauge = { now: 0, peak: 0, calls: 0 }
    const model: Model = {
      provider: "test",
      model: "peak-200",
      generate: async (request) => {
        gauge.calls += 1
        gauge.peak = Math.max(gauge.peak, ++gauge.now)
        await gate
        gauge.now -= 1
        return { text: String(request.messages.at(-1)?.content ?? "") }
      },
    }
    const limits = { "test:peak-200": { inFlight: 10 } }
    const queue = modelLimiter("test:peak-200", { inFlight: 10 })
    const runs = Promise.all(Array.from({ length: 200 }, (_, index) => echo.run({ text: `n${index}` }, { models: { fast: model }, limits })))
    for (let tries = 0; queue.stats.waiting < 190 && tries < 2_000; tries++) await new Promise((resolve) => setTimeout(resolve, 2))
    expect(queue.stats).toMatchObject({ inFlight: 10, waiting: 190 })
    expect(gauge.now).toBe(10)
    open()
    const results = await runs
    expect(results.every((result) => result.status === "done")).toBe(true)
    expect(gauge.calls).toBe(200)
    expect(gauge.peak).toBe(10)
    expect(queue.stats).toMatchObject({ peakInFlight: 10, inFlight: 0, waiting: 0 })
  }, 20_000)

  it("map items of several runs share the process's limit (setModelLimits)", async () => {
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => (open = resolve))
    const gauge = { now: 0, peak: 0, calls: 0 }
    const model: Model = {
      provider: "test",
      model: "fanout",
      generate: async (request) => {
        gauge.calls += 1
        gauge.peak = Math.max(gauge.peak, ++gauge.now)
        await gate
        gauge.now -= 1
        return { text: String(request.messages.at(-1)?.content ?? "") }
      },
    }
    setModelLimits({ "test:fanout": { inFlight: 2 } })
    const fanout = pipeline({ id: "fanout", input: z.object({ items: z.array(z.string()) }) })
      .step("each", map({ over: ({ input }) => input.items, concurrency: 8, each: llm({ model: "fast", prompt: ({ input }: { input: string }) => input }) }))
      .edges({ each: "done" })
    const runs = Promise.all(Array.from({ length: 3 }, () => fanout.run({ items: ["a", "b", "c", "d", "e", "f"] }, { models: { fast: model } })))
    // 3 runs × 6 items, 8 at a time per run: 18 calls contend, 2 hold the slots.
    const queue = modelLimiter("test:fanout", { inFlight: 2 })
    for (let tries = 0; queue.stats.waiting < 16 && tries < 2_000; tries++) await new Promise((resolve) => setTimeout(resolve, 2))
    expect(queue.stats).toMatchObject({ inFlight: 2, waiting: 16 })
    open()
    expect((await runs).map((result) => result.status)).toEqual(["done", "done", "done"])
    expect(gauge.calls).toBe(18)
    expect(gauge.peak).toBe(2)
  }, 20_000)

  it("a 429 with retry-after pauses the model's queue for every caller, not only the one that got it", async () => {
    vi.useFakeTimers()
    const limiter = new ModelLimiter("test:pause", { inFlight: 4 })
    const signal = new AbortController().signal
    const held = await limiter.acquire(1, signal)
    limiter.pause(2_000)
    held.release()
    const started: number[] = []
    const waiting = Array.from({ length: 3 }, () => limiter.acquire(1, signal).then((slot) => (started.push(Date.now()), slot)))
    const pausedAt = Date.now()
    await vi.advanceTimersByTimeAsync(1_999)
    expect(started).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(started).toEqual([pausedAt + 2_000, pausedAt + 2_000, pausedAt + 2_000])
    for (const slot of await Promise.all(waiting)) {
      expect(slot.queuedMs).toBe(2_000)
      slot.release()
    }
  })

  it("in a run, a rate-limited answer holds back the other runs' calls until retry-after has passed", async () => {
    vi.useFakeTimers()
    let calls = 0
    const startedAt: number[] = []
    const model: Model = {
      provider: "test",
      model: "rate-limited",
      generate: async () => {
        calls += 1
        startedAt.push(Date.now())
        if (calls === 1) {
          throw new ModelError({ provider: "test", model: "rate-limited", reason: "rate-limited", retryable: true, message: "429", retryAfterMs: 5_000 })
        }
        return { text: "ok" }
      },
    }
    const limits = { "test:rate-limited": { inFlight: 1 } }
    const events: RunEvent[] = []
    const retrying = pipeline({ id: "retrying", input: z.object({ text: z.string() }) })
      .step(
        "say",
        llm({ model: "fast", prompt: ({ input }) => input.text, policy: { retry: { attempts: 3, initialDelay: "1ms", jitter: false, maxDelay: "10s" } } }),
      )
      .edges({ say: "done" })
    const t0 = Date.now()
    const first = retrying.run({ text: "a" }, { models: { fast: model }, limits })
    const second = retrying.run({ text: "b" }, { models: { fast: model }, limits, onEvent: (event) => events.push(event) })
    await vi.advanceTimersByTimeAsync(4_900)
    // The first call got the 429; the second run's call has not started although the slot is free.
    expect(calls).toBe(1)
    await vi.advanceTimersByTimeAsync(200)
    const results = await Promise.all([first, second])
    expect(results.map((result) => result.status)).toEqual(["done", "done"])
    expect(startedAt.slice(1).every((at) => at >= t0 + 5_000)).toBe(true)
    const called = events.find((event) => event.type === "model.called")
    expect(called?.type === "model.called" && called.queuedMs).toBeGreaterThanOrEqual(5_000)
  })

  it("requestsPerMinute spaces calls out once the minute's budget is spent", async () => {
    vi.useFakeTimers()
    const limiter = new ModelLimiter("test:rpm", { requestsPerMinute: 2 })
    const signal = new AbortController().signal
    const startedAt: number[] = []
    const t0 = Date.now()
    const slots = Array.from({ length: 3 }, () => limiter.acquire(1, signal).then((slot) => (startedAt.push(Date.now() - t0), slot.release())))
    await vi.advanceTimersByTimeAsync(30_000)
    await Promise.all(slots)
    expect(startedAt).toEqual([0, 0, 30_000])
  })

  it("tokensPerMinute waits for the budget and takes the answer's usage into account", async () => {
    vi.useFakeTimers()
    const limiter = new ModelLimiter("test:tpm", { tokensPerMinute: 600 })
    const signal = new AbortController().signal
    const t0 = Date.now()
    const first = await limiter.acquire(100, signal)
    // The call used 600 tokens, not the 100 estimated: the budget is empty for a minute.
    first.release(600)
    let startedAfter: number | undefined
    const second = limiter.acquire(60, signal).then((slot) => ((startedAfter = Date.now() - t0), slot.release()))
    await vi.advanceTimersByTimeAsync(5_000)
    expect(startedAfter).toBeUndefined()
    await vi.advanceTimersByTimeAsync(1_000)
    await second
    expect(startedAfter).toBe(6_000)
  })

  it("waiting for a slot counts against the step's timeout: the wait ends, is journaled with queuedMs, and leaves the queue", async () => {
    vi.useFakeTimers()
    const { model } = gaugedModel("slow", 10_000)
    const limits = { "test:slow": { inFlight: 1 } }
    const hurried = pipeline({ id: "hurried", input: z.object({ text: z.string() }) })
      .step("say", llm({ model: "fast", prompt: ({ input }) => input.text, policy: { retry: false, timeout: "1s" } }))
      .edges({ say: "done" })
    const events: RunEvent[] = []
    const slow = echo.run({ text: "slow" }, { models: { fast: model }, limits })
    await vi.advanceTimersByTimeAsync(10)
    const timedOut = hurried.run({ text: "quick" }, { models: { fast: model }, limits, onEvent: (event) => events.push(event) })
    await vi.advanceTimersByTimeAsync(1_100)
    expect(await timedOut).toMatchObject({ status: "failed", error: { _tag: "StepTimeoutError" } })
    const called = events.find((event) => event.type === "model.called")
    expect(called).toMatchObject({ error: { _tag: "StepTimeoutError" } })
    expect(called?.type === "model.called" && called.queuedMs).toBeGreaterThanOrEqual(990)
    expect(modelLimiter("test:slow", { inFlight: 1 }).stats.waiting).toBe(0)
    await vi.advanceTimersByTimeAsync(10_000)
    expect(await slow).toMatchObject({ status: "done" })
  })

  it("a limit of 0 or a negative rate is refused, naming the model and the limit", async () => {
    expect(() => setModelLimits({ "openai:gpt-4.1-mini": { inFlight: 0 } })).toThrow(ModelLimitError)
    expect(() => setModelLimits({ "openai:gpt-4.1-mini": { requestsPerMinute: -5 } })).toThrow(
      /"openai:gpt-4\.1-mini": requestsPerMinute must be a positive number, got -5/,
    )
    expect(() => setModelLimits({ "openai:gpt-4.1-mini": { inflight: 4 } as never })).toThrow(/no field "inflight"/)
    const error = (() => {
      try {
        setModelLimits({ "openai:gpt-4.1-mini": { tokensPerMinute: 0 } })
      } catch (thrown) {
        return thrown
      }
    })()
    expect(error).toMatchObject({ name: "ModelLimitError", key: "openai:gpt-4.1-mini", field: "tokensPerMinute" })
    const result = await echo.run({ text: "x" }, { models: { fast: gaugedModel("bad", 0).model }, limits: { "test:bad": { inFlight: -1 } } })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "ConfigurationError", message: expect.stringContaining('limits "test:bad": inFlight must be a positive number, got -1') },
    })
  })

  it("a worker's limits hold for every run it executes; a worker with a limit of 0 is refused", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-limits-"))
    try {
      const journal = sqliteJournal({ path: join(folder, "runs.db") })
      let open: () => void = () => {}
      const gate = new Promise<void>((resolve) => (open = resolve))
      const gauge = { now: 0, peak: 0 }
      const model: Model = {
        provider: "test",
        model: "worker",
        generate: async () => {
          gauge.peak = Math.max(gauge.peak, ++gauge.now)
          await gate
          gauge.now -= 1
          return { text: "ok" }
        },
      }
      expect(() => worker({ journal, pipelines: [echo], limits: { "test:worker": { inFlight: 0 } } })).toThrow(ModelLimitError)
      for (let index = 0; index < 8; index++) await echo.submit({ text: `n${index}` }, { journal })
      const results: RunResult<Record<string, unknown>>[] = []
      const running = worker({
        journal,
        pipelines: [echo],
        models: { fast: model },
        concurrency: 8,
        pollMs: 10,
        limits: { "test:worker": { inFlight: 3 } },
        onResult: (result) => results.push(result),
      })
      // All 8 runs reach their call: 3 hold the worker's slots, 5 wait.
      const queue = modelLimiter("test:worker", { inFlight: 3 })
      for (let tries = 0; queue.stats.waiting < 5 && tries < 2_000; tries++) await new Promise((resolve) => setTimeout(resolve, 5))
      expect(queue.stats).toMatchObject({ inFlight: 3, waiting: 5 })
      open()
      const deadline = Date.now() + 10_000
      while (results.length < 8 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
      await running.stop()
      journal.close()
      expect(results.map((result) => result.status)).toEqual(Array(8).fill("done"))
      expect(gauge.peak).toBe(3)
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  }, 20_000)
})
