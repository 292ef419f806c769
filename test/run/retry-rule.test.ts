/**
 * The retry rule of the one attempt executor (README, "policy"), beyond the measured defects of
 * attempt.test.ts: a retry-after the policy cannot honour ends the retries at once with the
 * provider's reason; only the user's `retry.attempts` (step or pipeline) widens what is retried;
 * a refused journal write stops the step's user code; an abandoned attempt never rejects unhandled.
 * Real timers of a few milliseconds; every bound on time is generous.
 */
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { callTool, fn, llm, memoryJournal, pipeline, type RunEvent, type StepExecutor, type StepPolicy, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Input = z.object({})

const ask = (policy?: StepPolicy, fallback?: string[]) =>
  pipeline({ id: "ask", input: Input })
    .step("answer", llm({ model: "primary", prompt: () => "?", ...(policy === undefined ? {} : { policy }), ...(fallback === undefined ? {} : { fallback }) }))
    .edges({ answer: "done" })

const retryAfterAnHour = { fail: "rate-limited", retryAfterMs: 3_600_000, status: 429 } as const

describe("a retry-after the policy cannot honour ends the retries at once", () => {
  it("fails with the rate-limited ModelError (retryAfterMs kept) when retry-after exceeds maxDelay", async () => {
    const model = scriptedModel([retryAfterAnHour, "never asked"])
    const journal = memoryJournal()
    const started = Date.now()

    const result = await ask({ retry: { attempts: 5, initialDelay: "1ms", maxDelay: "50ms", jitter: false } }).run({}, { models: { primary: model }, journal })

    expect(Date.now() - started).toBeLessThan(1_000)
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "rate-limited", retryAfterMs: 3_600_000, step: "answer" } })
    expect(model.calls).toHaveLength(1)
    const entries = await journal.read(result.runId)
    expect(entries.filter((entry) => entry.type === "step.retried")).toEqual([])
  }, 2_000)

  it("fails with the rate-limited error, not a timeout, when retry-after would end past the step's timeout", async () => {
    const model = scriptedModel([{ fail: "rate-limited", retryAfterMs: 5_000 }, "never asked"])
    const started = Date.now()

    const policy: StepPolicy = { retry: { attempts: 5, initialDelay: "1ms", maxDelay: "1m", jitter: false }, timeout: "2s" }
    const result = await ask(policy).run({}, { models: { primary: model } })

    expect(Date.now() - started).toBeLessThan(1_000)
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "rate-limited", retryAfterMs: 5_000 } })
    expect(model.calls).toHaveLength(1)
  }, 2_000)

  it("the kind's default policy (maxDelay 30s) does not sleep an hour either", async () => {
    const model = scriptedModel([retryAfterAnHour, "never asked"])
    const started = Date.now()

    const result = await ask().run({}, { models: { primary: model } })

    expect(Date.now() - started).toBeLessThan(1_000)
    expect(result).toMatchObject({ status: "failed", error: { reason: "rate-limited", retryAfterMs: 3_600_000 } })
  }, 2_000)

  it("moves on to the fallback model at once, journaling why", async () => {
    const primary = scriptedModel([retryAfterAnHour])
    const backup = scriptedModel(["from backup"])
    const events: RunEvent[] = []

    const policy: StepPolicy = { retry: { attempts: 3, initialDelay: "1ms", maxDelay: "50ms" } }
    const result = await ask(policy, ["backup"]).run({}, { models: { primary, backup }, onEvent: (event) => events.push(event) })

    expect(result).toMatchObject({ status: "done", output: "from backup" })
    expect(events.find((event) => event.type === "model.fallback")).toMatchObject({ error: { reason: "rate-limited", retryAfterMs: 3_600_000 } })
  }, 2_000)
})

describe("only the user's retry.attempts retries untyped errors", () => {
  const throwing = () => {
    let calls = 0
    const model = scriptedModel([
      () => {
        calls += 1
        throw new Error("socket hang up")
      },
      "answered",
    ])
    return { model, calls: () => calls }
  }

  it("an llm step on its kind's default attempts (3) does not retry a plain Error its model throws", async () => {
    const { model, calls } = throwing()
    const result = await ask().run({}, { models: { primary: model } })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "unknown" } })
    expect(calls()).toBe(1)
  }, 2_000)

  it("an llm step whose policy sets retry.attempts retries it", async () => {
    const { model, calls } = throwing()
    const result = await ask({ retry: { attempts: 2, initialDelay: "1ms" } }).run({}, { models: { primary: model } })
    expect(result).toMatchObject({ status: "done", output: "answered" })
    expect(calls()).toBe(1)
    expect(model.calls).toHaveLength(2)
  }, 2_000)

  it("a pipeline policy's retry.attempts counts as the user's, for every step", async () => {
    let calls = 0
    const work = () => {
      calls += 1
      if (calls < 3) throw new Error("connection refused")
      return "ok"
    }
    const flaky = pipeline({ id: "flaky", input: Input, policy: { retry: { attempts: 3, initialDelay: "1ms", jitter: false } } })
      .step("work", fn(work))
      .edges({ work: "done" })
    expect(await flaky.run({})).toMatchObject({ status: "done", output: "ok" })
    expect(calls).toBe(3)
  }, 2_000)

  it("a tool that says nothing is retried under retry.attempts; one that says idempotent: false never is", async () => {
    const runs = { unsaid: 0, unsafe: 0 }
    const failing = (key: keyof typeof runs, idempotent?: boolean) =>
      tool({
        name: key,
        input: z.object({}),
        ...(idempotent === undefined ? {} : { idempotent }),
        run: () => {
          runs[key] += 1
          throw new Error("upstream 502")
        },
      })
    const policy: StepPolicy = { retry: { attempts: 3, initialDelay: "1ms", jitter: false } }
    const calling = (key: keyof typeof runs, idempotent?: boolean) =>
      pipeline({ id: key, input: Input })
        .step(
          "call",
          callTool(failing(key, idempotent), () => ({}), { policy }),
        )
        .edges({ call: "done" })

    expect(await calling("unsaid").run({})).toMatchObject({ status: "failed", error: { _tag: "ToolError", reason: "failed" } })
    expect(await calling("unsafe", false).run({})).toMatchObject({ status: "failed", error: { _tag: "ToolError", reason: "failed", retryable: false } })
    expect(runs).toEqual({ unsaid: 3, unsafe: 1 })
  }, 2_000)
})

describe("a journal that refuses a write stops the step's user code", () => {
  it("never calls the step's code when its step.started is refused, and ends the run failed", async () => {
    let calls = 0
    const refusing: StepExecutor = {
      runStep: (_key, run, services) =>
        run({ ...services, record: (event) => (event.type === "step.started" ? Promise.reject(new Error("disk full")) : services.record(event)) }),
    }
    const code = () => {
      calls += 1
      return "ran anyway"
    }
    const work = pipeline({ id: "refused", input: Input }).step("work", fn(code)).edges({ work: "done" })

    const result = await work.run({}, { executor: refusing })

    expect(calls).toBe(0)
    expect(result).toMatchObject({ status: "failed", error: { _tag: "JournalError", step: "work", message: expect.stringContaining("disk full") } })
  }, 2_000)

  it("does not start a retry once a step.retried write is refused", async () => {
    let calls = 0
    const refusing: StepExecutor = {
      runStep: (_key, run, services) =>
        run({ ...services, record: (event) => (event.type === "step.retried" ? Promise.reject(new Error("connection lost")) : services.record(event)) }),
    }
    const code = () => {
      calls += 1
      throw new Error("flaky")
    }
    const work = pipeline({ id: "refused-retry", input: Input })
      .step("work", fn(code, { policy: { retry: { attempts: 5, initialDelay: "1ms" } } }))
      .edges({ work: "done" })

    const result = await work.run({}, { executor: refusing })

    expect(calls).toBe(1)
    const refused = { _tag: "JournalError", reason: "write-failed", message: expect.stringContaining("connection lost") }
    expect(result).toMatchObject({ status: "failed", error: refused })
  }, 2_000)
})

describe("an abandoned attempt never rejects unhandled", () => {
  it("a timed-out attempt that rejects later, and a cancelled one, leave nothing unhandled (vitest fails on any)", async () => {
    const late = (ms: number) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error("rejected after it was abandoned")), ms))
    const slow = () => late(30)
    const timedOut = pipeline({ id: "late", input: Input })
      .step("work", fn(slow, { policy: { attemptTimeout: "5ms" } }))
      .edges({ work: "done" })
    expect(await timedOut.run({})).toMatchObject({ status: "failed", error: { _tag: "StepTimeoutError", scope: "attempt" } })

    const controller = new AbortController()
    const cancelling = () => {
      // Cancelled while its code runs: the promise it then returns is abandoned at once.
      controller.abort("enough")
      return late(30)
    }
    const cancelled = pipeline({ id: "cancelled", input: Input }).step("work", fn(cancelling)).edges({ work: "done" })
    expect(await cancelled.run({}, { signal: controller.signal })).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
    // Both abandoned promises reject while the test still runs.
    await new Promise((resolve) => setTimeout(resolve, 60))
  }, 2_000)
})
