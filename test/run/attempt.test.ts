/**
 * The step attempt executor keeps its promises (issue 17, the seven measured defects).
 *
 * Each `describe` block below is one defect; every test asserts the behaviour a user relies on,
 * so it failed on the tree of 0391dd8 and passes once one attempt executor runs every step.
 * Real timers of tens of milliseconds are used (a busy loop and Effect's timers do not mix with
 * fake time); every wait has a generous margin.
 *
 * The evidence kept from a thrown error (defect 7), for the implementer to follow. `RunError`
 * stays flat and discriminated by `_tag` (a plain `Error` thrown by user code is still a
 * `StepCodeError`, a thrown `ModelError` still a `ModelError`); it gains optional fields that
 * mirror a JavaScript error, the same in `RunResult.error`, in the journal's `step.failed`
 * (and `step.retried`, `run.finished`) and in `show --full`:
 *
 *   {
 *     _tag, step, retryable, message,   // as today (a route error's message may keep its "route of … threw:" prefix)
 *     name?:   string,                  // the thrown error's `name` ("UpstreamError", "TypeError", …)
 *     stack?:  string,                  // the thrown error's `stack`, redacted
 *     cause?:  ThrownEvidence,          // the `cause` chain, each link { name?, message, stack?, cause?, fields? }
 *     fields?: Record<string, unknown>, // own enumerable fields other than name/message/stack/cause
 *   }                                   // (`status`, `code`, `headers`, …), as JSON, redacted
 *
 * `fields` is nested (not spread onto the error) so a user's `status` or `reason` can never be
 * mistaken for the `ModelError` fields of the same names. Redaction is the journal's: secrets in
 * strings are masked and the run's `redact.keys` are replaced, in the result as in the journal.
 */

import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  ConfigurationError,
  DecisionError,
  fn,
  human,
  type JournalEntry,
  ModelError,
  pipeline,
  type RunError,
  type RunResult,
  route,
  StepCodeError,
  type StepPolicy,
} from "../../src/index.ts"
import { memoryJournal } from "../../src/stores/memory-journal.ts"

const Input = z.object({})

/** A one-step pipeline around `run`, with `policy`. */
const oneStep = (run: (context: { readonly signal: AbortSignal }) => unknown, policy?: StepPolicy) =>
  pipeline({ id: "attempts", input: Input })
    .step("work", fn(run, policy === undefined ? {} : { policy }))
    .edges({ work: "done" })

/** Code that counts its calls and throws `make()`: synchronously, or as an async function's rejection. */
const thrower = (mode: "sync" | "async", make: () => unknown, onCall: () => void) =>
  mode === "sync"
    ? () => {
        onCall()
        throw make()
      }
    : async () => {
        onCall()
        throw make()
      }

/** Resolves "aborted" when `signal` aborts, "not aborted" after `ms` (so nothing waits forever). */
const abortedWithin = (signal: AbortSignal, ms: number): Promise<"aborted" | "not aborted"> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve("aborted")
    const timer = setTimeout(() => resolve("not aborted"), ms)
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve("aborted")), { once: true })
  })

/** Blocks the thread: synchronous code that overruns its timeout. */
const busy = (ms: number) => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    // spin
  }
}

const fast = (attempts: number): StepPolicy => ({ retry: { attempts, initialDelay: "1ms", factor: 1, jitter: false } })

const failedOf = <TSteps>(result: RunResult<TSteps>): Extract<RunResult<TSteps>, { status: "failed" }> => {
  expect(result.status).toBe("failed")
  return result as Extract<RunResult<TSteps>, { status: "failed" }>
}

const entriesOf = <TType extends JournalEntry["type"]>(entries: readonly JournalEntry[], type: TType) =>
  entries.filter((entry): entry is Extract<JournalEntry, { type: TType }> => entry.type === type)

describe("1. every attempt has its own AbortSignal, aborted when its time is up", () => {
  it("aborts the timed-out attempt's signal before the retry starts, and gives the retry a fresh signal", async () => {
    const signals: AbortSignal[] = []
    const firstAbortedWhenSecondStarted: boolean[] = []
    const pipelineUnderTest = oneStep(
      async ({ signal }) => {
        signals.push(signal)
        if (signals.length === 1) {
          await abortedWithin(signal, 800)
          return "late first attempt"
        }
        firstAbortedWhenSecondStarted.push(signals[0]?.aborted === true)
        return "second attempt"
      },
      { ...fast(2), attemptTimeout: "30ms" },
    )

    const result = await pipelineUnderTest.run({})

    expect(result).toMatchObject({ status: "done", output: "second attempt" })
    expect(signals).toHaveLength(2)
    expect(signals[1]).not.toBe(signals[0])
    expect(firstAbortedWhenSecondStarted).toEqual([true])
  }, 2_000)

  it.each([
    { timer: "the attempt timeout fails the step", policy: { attemptTimeout: "30ms" }, scope: "attempt" },
    { timer: "the step timeout fires", policy: { timeout: "40ms" }, scope: "step" },
  ] as const)(
    "aborts the attempt's signal when $timer",
    async ({ policy, scope }) => {
      let seen: AbortSignal | undefined
      const pipelineUnderTest = oneStep(async ({ signal }) => {
        seen = signal
        await abortedWithin(signal, 800)
        return "late"
      }, policy)

      const result = await pipelineUnderTest.run({})

      expect(failedOf(result).error).toMatchObject({ _tag: "StepTimeoutError", step: "work", scope })
      expect(seen?.aborted).toBe(true)
    },
    2_000,
  )

  it("aborts every attempt's signal, the one in flight included, when the step timeout ends the retries", async () => {
    const signals: AbortSignal[] = []
    const pipelineUnderTest = oneStep(
      async ({ signal }) => {
        signals.push(signal)
        await abortedWithin(signal, 800)
        return "late"
      },
      { ...fast(10), attemptTimeout: "30ms", timeout: "80ms" },
    )

    const result = await pipelineUnderTest.run({})

    expect(failedOf(result).error).toMatchObject({ _tag: "StepTimeoutError", step: "work", scope: "step" })
    expect(signals.length).toBeGreaterThanOrEqual(2)
    expect(new Set(signals).size).toBe(signals.length)
    expect(signals.map((signal) => signal.aborted)).toEqual(signals.map(() => true))
  }, 2_000)
})

describe("2. a synchronous attempt that overruns its timeout is a StepTimeoutError", () => {
  it("fails a step that blocks 300 ms under a 50 ms attemptTimeout and discards its output", async () => {
    const journal = memoryJournal()
    const pipelineUnderTest = oneStep(
      () => {
        busy(300)
        return "late output"
      },
      { attemptTimeout: "50ms" },
    )

    const result = await pipelineUnderTest.run({}, { journal })

    expect(failedOf(result).error).toMatchObject({ _tag: "StepTimeoutError", step: "work", scope: "attempt", ms: 50 })
    expect(result.steps).not.toHaveProperty("work")
    const entries = await journal.read(result.runId)
    expect(entriesOf(entries, "step.finished")).toEqual([])
    expect(JSON.stringify(entries)).not.toContain("late output")
  }, 2_000)

  it("retries a synchronous attempt that overran, and keeps the output of the attempt that made it in time", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(
      () => {
        calls += 1
        if (calls === 1) busy(150)
        return calls === 1 ? "late output" : "on time"
      },
      { ...fast(2), attemptTimeout: "30ms" },
    )

    const result = await pipelineUnderTest.run({})

    expect(result).toMatchObject({ status: "done", output: "on time" })
    expect(calls).toBe(2)
  }, 2_000)

  it("retries a synchronous overrun until the attempts are spent, then fails with StepTimeoutError", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(
      () => {
        calls += 1
        busy(100)
        return "late output"
      },
      { ...fast(2), attemptTimeout: "20ms" },
    )

    const result = await pipelineUnderTest.run({})

    expect(failedOf(result).error).toMatchObject({ _tag: "StepTimeoutError", step: "work", scope: "attempt" })
    expect(calls).toBe(2)
  }, 2_000)
})

describe("3. a retryable error is retried the same whether fn code throws it synchronously or asynchronously", () => {
  const retryable = {
    "StepCodeError({ retryable: true })": () => new StepCodeError({ step: "work", retryable: true, message: "flaky dependency" }),
    "a retryable ModelError": () => new ModelError({ provider: "acme", model: "m1", reason: "overloaded", retryable: true, message: "overloaded, try again" }),
  }
  const cases = Object.entries(retryable).flatMap(([label, make]) => (["sync", "async"] as const).map((mode) => ({ label, make, mode, tag: make()._tag })))

  it.each(cases)(
    "$label thrown $mode is attempted 3 times under retry.attempts 3",
    async ({ make, mode, tag }) => {
      let calls = 0
      const journal = memoryJournal()
      const pipelineUnderTest = oneStep(
        thrower(mode, make, () => (calls += 1)),
        fast(3),
      )

      const result = await pipelineUnderTest.run({}, { journal })

      expect(calls).toBe(3)
      expect(failedOf(result).error).toMatchObject({ _tag: tag, step: "work", retryable: true })
      const entries = await journal.read(result.runId)
      expect(entriesOf(entries, "step.retried")).toHaveLength(2)
      expect(entriesOf(entries, "step.failed")).toMatchObject([{ attempts: 3 }])
    },
    2_000,
  )

  it("succeeds on the attempt after a synchronously thrown retryable error", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(() => {
      calls += 1
      if (calls === 1) throw new StepCodeError({ step: "work", retryable: true, message: "flaky dependency" })
      return "recovered"
    }, fast(3))

    expect(await pipelineUnderTest.run({})).toMatchObject({ status: "done", output: "recovered" })
    expect(calls).toBe(2)
  }, 2_000)
})

describe("4. an explicit retry.attempts retries any thrown error except those typed as not retryable", () => {
  it.each(["sync", "async"] as const)(
    "retries a plain Error thrown %s until the 6 attempts are spent",
    async (mode) => {
      let calls = 0
      const journal = memoryJournal()
      const pipelineUnderTest = oneStep(
        thrower(
          mode,
          () => new Error("connection refused"),
          () => (calls += 1),
        ),
        { retry: { attempts: 6, initialDelay: "1ms", jitter: false } },
      )

      const result = await pipelineUnderTest.run({}, { journal })

      expect(calls).toBe(6)
      expect(failedOf(result).error).toMatchObject({ _tag: "StepCodeError", step: "work", message: expect.stringContaining("connection refused") })
      expect(entriesOf(await journal.read(result.runId), "step.failed")).toMatchObject([{ attempts: 6 }])
    },
    2_000,
  )

  it("a plain Error that goes away on the third attempt ends done", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(
      async () => {
        calls += 1
        if (calls < 3) throw new Error("connection refused")
        return "third time lucky"
      },
      { retry: { attempts: 6, initialDelay: "1ms", jitter: false } },
    )

    expect(await pipelineUnderTest.run({})).toMatchObject({ status: "done", output: "third time lucky" })
    expect(calls).toBe(3)
  }, 2_000)

  it("keeps the default: without retry.attempts a plain Error is attempted once", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(() => {
      calls += 1
      throw new Error("connection refused")
    })

    failedOf(await pipelineUnderTest.run({}))
    expect(calls).toBe(1)
  }, 2_000)

  const notRetryable = {
    "StepCodeError({ retryable: false })": () => new StepCodeError({ step: "work", retryable: false, message: "bad data, do not retry" }),
    ConfigurationError: () => new ConfigurationError({ step: "work", retryable: false, message: "no credentials configured" }),
    "a non-retryable ModelError (authentication)": () =>
      new ModelError({ provider: "acme", model: "m1", reason: "authentication", retryable: false, status: 401, message: "bad key" }),
    DecisionError: () => new DecisionError("invalid-decision", "the decision is invalid"),
  }
  const cases = Object.entries(notRetryable).flatMap(([label, make]) => (["sync", "async"] as const).map((mode) => ({ label, make, mode })))

  it.each(cases)(
    "does not retry $label thrown $mode, even under retry.attempts 6",
    async ({ make, mode }) => {
      let calls = 0
      const pipelineUnderTest = oneStep(
        thrower(mode, make, () => (calls += 1)),
        { retry: { attempts: 6, initialDelay: "1ms", jitter: false } },
      )

      const result = await pipelineUnderTest.run({})

      failedOf(result)
      expect(calls).toBe(1)
    },
    2_000,
  )
})

describe("5. a step that cancels its own run and rejects on its aborted signal leaves no unhandled rejection", () => {
  it("the process survives --unhandled-rejections=strict and the run ends cancelled", async () => {
    const script = fileURLToPath(new URL("./fixtures/cancel-self.ts", import.meta.url))
    const outcome = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ["--unhandled-rejections=strict", script], { timeout: 10_000 }, (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }),
      )
    })

    expect(outcome.code, outcome.stderr).toBe(0)
    expect(outcome.stderr).not.toMatch(/unhandled|aborted: my own run was cancelled/i)
    const printed = JSON.parse(outcome.stdout.trim().split("\n").at(-1) ?? "null") as { status: string; error: RunError | null }
    expect(printed).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
  }, 15_000)
})

describe("6. a run started with an already-aborted signal runs no user code", () => {
  it("run(): the first fn step is never called and the run ends failed with a CancelledError", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(() => {
      calls += 1
      return "ran anyway"
    })

    const result = await pipelineUnderTest.run({}, { signal: AbortSignal.abort("not wanted any more") })

    expect(calls).toBe(0)
    expect(failedOf(result).error).toMatchObject({ _tag: "CancelledError" })
    expect(result.steps).not.toHaveProperty("work")
  }, 2_000)

  it("start(): the first fn step is never called and the result is a CancelledError", async () => {
    let calls = 0
    const pipelineUnderTest = oneStep(async () => {
      calls += 1
      return "ran anyway"
    })
    const controller = new AbortController()
    controller.abort("not wanted any more")

    const result = await pipelineUnderTest.start({}, { signal: controller.signal }).result

    expect(calls).toBe(0)
    expect(failedOf(result).error).toMatchObject({ _tag: "CancelledError" })
  }, 2_000)
})

describe("7. a thrown error keeps its evidence in the result and the journal", () => {
  /** The evidence shape chosen at the top of this file. */
  interface Evidence {
    readonly _tag: string
    readonly step?: string
    readonly message: string
    readonly name?: string
    readonly stack?: string
    readonly cause?: Evidence
    readonly fields?: Record<string, unknown>
  }
  const evidenceOf = (error: RunError | undefined) => error as unknown as Evidence

  const bearer = "Bearer sk-test-0123456789abcdefghij"
  const apiKey = "sk-proj-SECRETSECRETSECRET42"

  class UpstreamError extends Error {
    override readonly name = "UpstreamError"
    readonly status = 503
    readonly code = "ECONNRESET"
    readonly headers = { authorization: bearer, "x-request-id": "req_123" }
    readonly apiKey = apiKey
  }

  class RoutingBug extends Error {
    override readonly name = "RoutingBug"
  }

  // A named function, so its frame (and this file) show in the stack.
  function callUpstream(): never {
    throw new UpstreamError("upstream answered 503", {
      cause: new TypeError("fetch failed", { cause: new RangeError("socket hang up") }),
    })
  }

  const expectEvidence = (error: Evidence) => {
    expect(error).toMatchObject({ _tag: "StepCodeError", step: "work", name: "UpstreamError", message: expect.stringContaining("upstream answered 503") })
    expect(typeof error.stack).toBe("string")
    expect(error.stack).toContain("attempt.test.ts")
    expect(error.stack).toContain("callUpstream")
    expect(error.cause).toMatchObject({ name: "TypeError", message: "fetch failed", cause: { name: "RangeError", message: "socket hang up" } })
    expect(error.fields).toMatchObject({ status: 503, code: "ECONNRESET", headers: { "x-request-id": "req_123" } })
    const text = JSON.stringify(error)
    expect(text).not.toContain(bearer)
    expect(text).not.toContain("0123456789abcdefghij")
    expect(text).not.toContain(apiKey)
  }

  it.each(["sync", "async"] as const)(
    "keeps name, stack, cause chain and own fields (redacted) of an error thrown %s",
    async (mode) => {
      const journal = memoryJournal()
      const pipelineUnderTest = oneStep(mode === "sync" ? () => callUpstream() : async () => callUpstream())

      const result = await pipelineUnderTest.run({}, { journal })

      expectEvidence(evidenceOf(failedOf(result).error))
      const entries = await journal.read(result.runId)
      const [stepFailed] = entriesOf(entries, "step.failed")
      expectEvidence(evidenceOf(stepFailed?.error))
      const [runFinished] = entriesOf(entries, "run.finished")
      expectEvidence(evidenceOf(runFinished?.error))
    },
    2_000,
  )

  it("keeps the evidence of an error that failed every retry attempt", async () => {
    const journal = memoryJournal()
    const pipelineUnderTest = oneStep(async () => callUpstream(), fast(2))

    const result = await pipelineUnderTest.run({}, { journal })

    expectEvidence(evidenceOf(failedOf(result).error))
    const entries = await journal.read(result.runId)
    expectEvidence(evidenceOf(entriesOf(entries, "step.retried")[0]?.error))
    expectEvidence(evidenceOf(entriesOf(entries, "step.failed")[0]?.error))
  }, 2_000)

  it("applies the run's redact keys to the kept fields", async () => {
    const journal = memoryJournal()
    const pipelineUnderTest = oneStep(() => {
      throw Object.assign(new Error("lookup failed"), { customerSsn: "123-45-6789", region: "eu-west" })
    })

    const result = await pipelineUnderTest.run({}, { journal, redact: { keys: ["customerSsn"] } })

    const [stepFailed] = entriesOf(await journal.read(result.runId), "step.failed")
    for (const error of [evidenceOf(failedOf(result).error), evidenceOf(stepFailed?.error)]) {
      expect(error.fields).toMatchObject({ region: "eu-west" })
      expect(JSON.stringify(error)).not.toContain("123-45-6789")
    }
  }, 2_000)

  it("an error thrown in a step's route keeps its class name, message and stack", async () => {
    const journal = memoryJournal()
    const pipelineUnderTest = pipeline({ id: "routes", input: Input })
      .step(
        "work",
        fn(() => "an output no route expected"),
      )
      .edges({
        work: route(["done"], () => {
          throw new RoutingBug("no route for this output")
        }),
      })

    const result = await pipelineUnderTest.run({}, { journal })

    const error = evidenceOf(failedOf(result).error)
    expect(error).toMatchObject({ step: "work", name: "RoutingBug", message: expect.stringContaining("no route for this output") })
    expect(error.stack).toContain("attempt.test.ts")
    const [stepFailed] = entriesOf(await journal.read(result.runId), "step.failed")
    expect(evidenceOf(stepFailed?.error)).toMatchObject({ step: "work", name: "RoutingBug" })
  }, 2_000)

  it("an error thrown in a route that decides on a human decision keeps its class name (not XState's guard error)", async () => {
    const journal = memoryJournal()
    const pipelineUnderTest = pipeline({ id: "human-routes", input: Input })
      .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
      .step(
        "yes",
        fn(() => "approved"),
      )
      .step(
        "no",
        fn(() => "rejected"),
      )
      .edges({
        review: route(["yes", "no"], () => {
          throw new RoutingBug("no route for this decision")
        }),
        yes: "done",
        no: "done",
      })

    const handle = pipelineUnderTest.start({}, { journal })
    for await (const event of handle.events) if (event.type === "human.waiting") break
    handle.send("review", { approve: true })
    const result = await handle.result

    const error = evidenceOf(failedOf(result).error)
    expect(error).toMatchObject({ step: "review", name: "RoutingBug", message: expect.stringContaining("no route for this decision") })
    expect(error.message).not.toContain("Unable to evaluate guard")
    const [runFinished] = entriesOf(await journal.read(result.runId), "run.finished")
    expect(evidenceOf(runFinished?.error)).toMatchObject({ step: "review", name: "RoutingBug" })
  }, 2_000)
})
