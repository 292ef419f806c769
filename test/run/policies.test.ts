import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { fn, llm, memoryJournal, pipeline, type RunEvent, type StepPolicy } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const ask = (policy?: StepPolicy, fallback?: string[]) =>
  pipeline({ id: "ask", input: z.object({ question: z.string() }) })
    .step(
      "answer",
      llm({
        model: "primary",
        prompt: ({ input }) => input.question,
        ...(policy === undefined ? {} : { policy }),
        ...(fallback === undefined ? {} : { fallback }),
      }),
    )
    .edges({ answer: "done" })

const noJitter = (attempts: number): StepPolicy => ({ retry: { attempts, initialDelay: "100ms", factor: 2, jitter: false } })

/** Runs with fake timers, advancing time until the run settles. Returns the result and when it settled. */
const runWithFakeTime = async (run: () => Promise<unknown>) => {
  const started = Date.now()
  let settled = false
  const promise = run().finally(() => (settled = true))
  while (!settled) await vi.advanceTimersByTimeAsync(10)
  return { result: await promise, elapsedMs: Date.now() - started }
}

describe("retry, timeouts and fallback", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("retries a retryable failure and then succeeds, journaling each retry", async () => {
    const model = scriptedModel([{ fail: "server", status: 500 }, { fail: "overloaded" }, "42"])
    const events: RunEvent[] = []
    const { result } = await runWithFakeTime(() =>
      ask(noJitter(3)).run({ question: "?" }, { models: { primary: model }, onEvent: (event) => events.push(event) }),
    )
    expect(result).toMatchObject({ status: "done", output: "42" })
    expect(model.calls).toHaveLength(3)
    const retries = events.filter((event) => event.type === "step.retried")
    expect(retries).toMatchObject([
      { attempt: 1, delayMs: 100, error: { _tag: "ModelError", reason: "server", status: 500 } },
      { attempt: 2, delayMs: 200, error: { reason: "overloaded" } },
    ])
    expect(events.find((event) => event.type === "step.finished")).toMatchObject({ attempts: 3 })
  })

  it("waits at least retry-after before the next attempt", async () => {
    const model = scriptedModel([{ fail: "rate-limited", retryAfterMs: 5_000 }, "ok"])
    const { result } = await runWithFakeTime(() => ask(noJitter(2)).run({ question: "?" }, { models: { primary: model } }))
    expect(result).toMatchObject({ status: "done", output: "ok" })
    const gap = (model.calls[1]?.startedAt ?? 0) - (model.calls[0]?.startedAt ?? 0)
    expect(gap).toBeGreaterThanOrEqual(5_000)
    expect(gap).toBeLessThan(5_100)
  })

  it("does not retry a non-retryable error", async () => {
    const model = scriptedModel([{ fail: "authentication", status: 401 }, "never"])
    const { result } = await runWithFakeTime(() => ask(noJitter(5)).run({ question: "?" }, { models: { primary: model } }))
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "authentication", retryable: false, step: "answer" } })
    expect(model.calls).toHaveLength(1)
  })

  it("stops after the configured attempts", async () => {
    const model = scriptedModel([{ fail: "server" }], { repeat: true })
    const { result } = await runWithFakeTime(() => ask(noJitter(4)).run({ question: "?" }, { models: { primary: model } }))
    expect(result).toMatchObject({ status: "failed", error: { reason: "server" } })
    expect(model.calls).toHaveLength(4)
  })

  it("times out a hung attempt, aborts it, and retries", async () => {
    const model = scriptedModel([{ hang: true }, "late but fine"])
    const { result, elapsedMs } = await runWithFakeTime(() =>
      ask({ ...noJitter(2), attemptTimeout: "1s" }).run({ question: "?" }, { models: { primary: model } }),
    )
    expect(result).toMatchObject({ status: "done", output: "late but fine" })
    expect(model.calls[0]?.aborted).toBe(true)
    expect(elapsedMs).toBeGreaterThanOrEqual(1_100)
  })

  it("fails the step when its overall timeout passes, whatever the attempts left", async () => {
    const model = scriptedModel([{ hang: true }], { repeat: true })
    const { result, elapsedMs } = await runWithFakeTime(() =>
      ask({ ...noJitter(10), attemptTimeout: "1s", timeout: "2500ms" }).run({ question: "?" }, { models: { primary: model } }),
    )
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepTimeoutError", scope: "step", ms: 2_500, step: "answer" } })
    expect(elapsedMs).toBeLessThan(2_600)
    expect(model.calls.every((call) => call.aborted)).toBe(true)
  })

  it("falls back to the next model after the primary's retries are spent", async () => {
    const primary = scriptedModel([{ fail: "overloaded" }], { repeat: true, name: "big" })
    const backup = scriptedModel(["from backup"], { name: "small" })
    const events: RunEvent[] = []
    const { result } = await runWithFakeTime(() =>
      ask(noJitter(2), ["backup"]).run({ question: "?" }, { models: { primary, backup }, onEvent: (event) => events.push(event) }),
    )
    expect(result).toMatchObject({ status: "done", output: "from backup" })
    expect(primary.calls).toHaveLength(2)
    expect(backup.calls).toHaveLength(1)
    expect(events.find((event) => event.type === "model.fallback")).toMatchObject({ from: "primary", to: "backup", error: { reason: "overloaded" } })
    // attempts counts every model call of the step, across the fallback chain
    expect(events.find((event) => event.type === "step.finished")).toMatchObject({ attempts: 3 })
  })
})

describe("cancellation", () => {
  it("aborts the in-flight model call when the run's signal fires", async () => {
    const model = scriptedModel([{ hang: true }])
    const controller = new AbortController()
    const journal = memoryJournal()
    const running = ask().run({ question: "?" }, { models: { primary: model }, signal: controller.signal, journal, runId: "c1" })
    await vi.waitFor(() => expect(model.calls).toHaveLength(1))
    controller.abort("user pressed stop")
    const result = await running
    expect(result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining("user pressed stop") } })
    await vi.waitFor(() => expect(model.calls[0]?.aborted).toBe(true))
  })

  it("passes the step's signal to fn steps and aborts it on cancel", async () => {
    let seen: AbortSignal | undefined
    const p = pipeline({ id: "slow", input: z.object({}) })
      .step(
        "wait",
        fn(({ signal }) => {
          seen = signal
          return new Promise<string>(() => {})
        }),
      )
      .edges({ wait: "done" })
    const handle = p.start({})
    await vi.waitFor(() => expect(seen).toBeDefined())
    handle.cancel("enough")
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
    expect(seen?.aborted).toBe(true)
  })
})
