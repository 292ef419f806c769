import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { atLeast, fn, type JournalEntry, llm, map, memoryJournal, pipeline, type RunEvent, StepCodeError } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Docs = z.object({ docs: z.array(z.string()) })

/** Runs with fake timers, advancing them until the run settles (a real macrotask between steps lets module loads finish). */
const runWithTimers = async <T>(start: () => Promise<T>): Promise<T> => {
  let settled = false
  const running = start().finally(() => (settled = true))
  while (!settled) {
    await vi.advanceTimersByTimeAsync(5)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return running
}
const useFakeTimers = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })

const itemEvents = (entries: readonly (RunEvent | JournalEntry)[], type: string) =>
  entries.flatMap((entry) => (entry.type === type && "step" in entry ? [entry.step] : []))

afterEach(() => {
  vi.useRealTimers()
})

describe("map", () => {
  it("returns outputs in input order when items finish in reverse order", async () => {
    useFakeTimers()
    // Item i answers after (5 - i) × 10 ms: the last item finishes first.
    const model = scriptedModel(
      [
        (request) => {
          const text = String(request.messages.at(-1)?.content)
          const index = Number(text.split(" ").at(-1))
          return { text: `summary ${index}`, delayMs: (5 - index) * 10 }
        },
      ],
      { repeat: true },
    )
    const summarise = pipeline({ id: "summarise", input: Docs })
      .step(
        "summaries",
        map({
          over: ({ input }) => input.docs,
          each: llm({ model: "fast", prompt: ({ input }: { input: string }) => `Summarise ${input}` }),
          concurrency: 5,
        }),
      )
      .edges({ summaries: "done" })
    const journal = memoryJournal()
    const result = await runWithTimers(() => summarise.run({ docs: ["0", "1", "2", "3", "4"] }, { models: { fast: model }, journal, runId: "r" }))
    expect(result).toMatchObject({ status: "done", output: ["summary 0", "summary 1", "summary 2", "summary 3", "summary 4"] })
    // They really did finish in reverse order.
    expect(itemEvents(await journal.read("r"), "step.finished")).toEqual([
      "summaries[4]",
      "summaries[3]",
      "summaries[2]",
      "summaries[1]",
      "summaries[0]",
      "summaries",
    ])
  })

  it("fail-fast: the first failure cancels the items in flight (their signals fire) and starts no more", async () => {
    useFakeTimers()
    const model = scriptedModel(
      [(request) => (String(request.messages.at(-1)?.content).endsWith("doc-0") ? { fail: "invalid-request", delayMs: 10 } : { hang: true })],
      { repeat: true },
    )
    const p = pipeline({ id: "fail-fast", input: Docs })
      .step(
        "summaries",
        map({
          over: ({ input }) => input.docs,
          each: llm({ model: "fast", prompt: ({ input }: { input: string }) => `Summarise ${input}` }),
          concurrency: 3,
        }),
      )
      .edges({ summaries: "done" })
    const journal = memoryJournal()
    const result = await runWithTimers(() => p.run({ docs: ["doc-0", "doc-1", "doc-2", "doc-3", "doc-4"] }, { models: { fast: model }, journal, runId: "r" }))
    expect(result.status).toBe("failed")
    if (result.status !== "failed") return
    expect(result.error).toMatchObject({ _tag: "ModelError", step: "summaries[0]", reason: "invalid-request" })
    await vi.advanceTimersByTimeAsync(1_000)
    // Three items started (the cap); the two in flight were aborted; items 3 and 4 never called the model.
    expect(model.calls).toHaveLength(3)
    expect(model.calls.map((call) => call.aborted)).toEqual([false, true, true])
    const entries = await journal.read("r")
    const cancelled = entries.flatMap((entry) => (entry.type === "step.failed" && entry.error._tag === "CancelledError" ? [entry.step] : []))
    expect(cancelled.sort()).toEqual(["summaries[1]", "summaries[2]"])
    expect(itemEvents(entries, "step.started")).not.toContain("summaries[3]")
  })

  it("a cancelled run aborts the items in flight and starts no more", async () => {
    const model = scriptedModel([{ hang: true }], { repeat: true })
    const p = pipeline({ id: "cancel", input: Docs })
      .step(
        "summaries",
        map({ over: ({ input }) => input.docs, each: llm({ model: "fast", prompt: ({ input }: { input: string }) => input }), concurrency: 2 }),
      )
      .edges({ summaries: "done" })
    const handle = p.start({ docs: ["a", "b", "c", "d"] }, { models: { fast: model } })
    let started = 0
    for await (const event of handle.events) {
      if (event.type === "model.called" || (event.type === "step.started" && event.step.startsWith("summaries[") && ++started === 2)) break
    }
    await new Promise((resolve) => setImmediate(resolve))
    handle.cancel("user left")
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
    expect(model.calls.map((call) => call.aborted)).toEqual([true, true])
  })

  it("collect: every item runs and the output holds each item's value or error, in input order", async () => {
    const p = pipeline({ id: "collect", input: z.object({ numbers: z.array(z.number()) }) })
      .step(
        "halves",
        map({
          over: ({ input }) => input.numbers,
          each: fn(({ input }: { input: number }) => {
            if (input % 2 === 1) throw new Error(`${input} is odd`)
            return input / 2
          }),
          concurrency: 2,
          onItemError: "collect",
        }),
      )
      .edges({ halves: "done" })
    const result = await p.run({ numbers: [2, 3, 8, 5] })
    expect(result).toMatchObject({
      status: "done",
      output: [
        { ok: true, value: 1 },
        { ok: false, error: { _tag: "StepCodeError", step: "halves[1]", message: "3 is odd" } },
        { ok: true, value: 4 },
        { ok: false, error: { _tag: "StepCodeError", step: "halves[3]", message: "5 is odd" } },
      ],
    })
  })

  it("atLeast(k): passes with k successes, fails as soon as k can no longer be reached", async () => {
    const started: number[] = []
    const build = (required: number) =>
      pipeline({ id: "at-least", input: z.object({ numbers: z.array(z.number()) }) })
        .step(
          "checks",
          map({
            over: ({ input }) => input.numbers,
            each: fn(({ input }: { input: number }) => {
              started.push(input)
              if (input < 0) throw new Error("negative")
              return input
            }),
            concurrency: 1,
            onItemError: atLeast(required),
          }),
        )
        .edges({ checks: "done" })
    const enough = await build(2).run({ numbers: [-1, -2, 3, 4] })
    expect(enough).toMatchObject({ status: "done", output: [{ ok: false }, { ok: false }, { ok: true, value: 3 }, { ok: true, value: 4 }] })
    started.length = 0
    const tooFew = await build(3).run({ numbers: [-1, -2, 3, 4] })
    expect(tooFew.status).toBe("failed")
    if (tooFew.status !== "failed") return
    expect(tooFew.error).toMatchObject({ _tag: "FanoutError", step: "checks", reason: "too-few-succeeded" })
    expect((tooFew.error as { errors?: unknown[] }).errors).toHaveLength(2)
    // After two failures only two items were left, fewer than three: they never ran.
    expect(started).toEqual([-1, -2])
  })

  it("never has more items in flight than its concurrency cap", async () => {
    useFakeTimers()
    let inFlight = 0
    let most = 0
    const p = pipeline({ id: "cap", input: z.object({ count: z.number() }) })
      .step(
        "work",
        map({
          over: ({ input }) => Array.from({ length: input.count }, (_, index) => index),
          each: fn(async ({ input }: { input: number }) => {
            inFlight += 1
            most = Math.max(most, inFlight)
            await new Promise((resolve) => setTimeout(resolve, 10 + (input % 3) * 7))
            inFlight -= 1
            return input * 10
          }),
          concurrency: 4,
        }),
      )
      .edges({ work: "done" })
    const result = await runWithTimers(() => p.run({ count: 25 }))
    expect(result).toMatchObject({ status: "done", output: Array.from({ length: 25 }, (_, index) => index * 10) })
    expect(most).toBe(4)
  })

  it("takes its list from an async over(), and gives each item only its item", async () => {
    const seen: unknown[] = []
    const p = pipeline({ id: "async-over", input: z.object({ prefix: z.string() }) })
      .step(
        "names",
        fn(() => ["ada", "alan"]),
      )
      .step(
        "greetings",
        map({
          over: async ({ input, steps }) => (steps.names ?? []).map((name) => `${input.prefix} ${name}`),
          each: fn(({ input, steps }: { input: string; steps: Record<string, unknown> }) => (seen.push(steps), input.toUpperCase())),
          concurrency: 2,
        }),
      )
      .edges({ names: "greetings", greetings: "done" })
    expect(await p.run({ prefix: "hi" })).toMatchObject({ status: "done", output: ["HI ADA", "HI ALAN"] })
    expect(seen).toEqual([{}, {}])
  })

  it("finishes at once with [] over an empty list", async () => {
    const each = vi.fn((_: { input: string }) => "never")
    const p = pipeline({ id: "empty", input: Docs })
      .step("summaries", map({ over: ({ input }) => input.docs, each: fn(each), concurrency: 2 }))
      .step(
        "after",
        fn(({ steps }) => steps.summaries?.length),
      )
      .edges({ summaries: "after", after: "done" })
    const events: RunEvent[] = []
    const result = await p.run({ docs: [] }, { onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: 0, steps: { summaries: [] } })
    expect(each).not.toHaveBeenCalled()
    expect(events.find((event) => event.type === "map.listed")).toMatchObject({ step: "summaries", count: 0 })
  })

  it("refuses a list longer than maxItems before any item starts, and a value that is not a list", async () => {
    const each = vi.fn((_: { input: number }) => 1)
    const p = pipeline({ id: "bounded", input: z.object({ numbers: z.unknown() }) })
      // A run input must be JSON itself: a list of BigInts can only come from `over`.
      .step("work", map({ over: ({ input }) => (input.numbers === "bigints" ? [1n] : input.numbers) as number[], each: fn(each), maxItems: 2 }))
      .edges({ work: "done" })
    const tooMany = await p.run({ numbers: [1, 2, 3] })
    expect(tooMany).toMatchObject({ status: "failed", error: { _tag: "FanoutError", step: "work", reason: "too-many-items" } })
    const notAList = await p.run({ numbers: "1,2" })
    expect(notAList).toMatchObject({ status: "failed", error: { _tag: "FanoutError", step: "work", reason: "invalid-items" } })
    const notJson = await p.run({ numbers: "bigints" })
    expect(notJson).toMatchObject({
      status: "failed",
      error: { _tag: "FanoutError", step: "work", reason: "invalid-items", message: expect.stringContaining("the items must be JSON") },
    })
    expect(each).not.toHaveBeenCalled()
  })

  it("retries an item under the item step's own policy", async () => {
    useFakeTimers()
    const model = scriptedModel([{ fail: "rate-limited" }, "ok"])
    const p = pipeline({ id: "retry", input: Docs })
      .step(
        "summaries",
        map({
          over: ({ input }) => input.docs,
          each: llm({
            model: "fast",
            prompt: ({ input }: { input: string }) => input,
            policy: { retry: { attempts: 2, initialDelay: "10ms", jitter: false } },
          }),
          concurrency: 1,
        }),
      )
      .edges({ summaries: "done" })
    const events: RunEvent[] = []
    const result = await runWithTimers(() => p.run({ docs: ["a"] }, { models: { fast: model }, onEvent: (event) => events.push(event) }))
    expect(result).toMatchObject({ status: "done", output: ["ok"] })
    expect(events.find((event) => event.type === "step.retried")).toMatchObject({ step: "summaries[0]", attempt: 1 })
  })

  it("starts items from the pipeline's default policy", async () => {
    useFakeTimers()
    const attempts = new Map<number, number>()
    const p = pipeline({
      id: "defaults",
      input: z.object({ numbers: z.array(z.number()) }),
      policy: { retry: { attempts: 2, initialDelay: "10ms", jitter: false } },
    })
      .step(
        "flaky",
        map({
          over: ({ input }) => input.numbers,
          each: fn(async ({ input }: { input: number }) => {
            attempts.set(input, (attempts.get(input) ?? 0) + 1)
            if (attempts.get(input) === 1) throw new StepCodeError({ step: "flaky", retryable: true, message: "first try fails" })
            return input
          }),
          concurrency: 2,
        }),
      )
      .edges({ flaky: "done" })
    const result = await runWithTimers(() => p.run({ numbers: [1, 2] }))
    expect(result).toMatchObject({ status: "done", output: [1, 2] })
    expect([...attempts.values()]).toEqual([2, 2])
  })

  it("rejects bad options with errors that name them", () => {
    const each = fn(({ input }: { input: number }) => input)
    const added = (step: unknown) => () => pipeline({ id: "bad", input: z.object({}) }).step("items", step as never)
    expect(added(map({ over: () => [1], each: fn(({ input }: { input: number }) => input, { policy: { timeout: "soon" as never } }) }))).toThrow(
      /step "items": map\(\{ ... \}\).each: fn\(run, \{ ... \}\).policy.timeout must be a duration/,
    )
    expect(added(map({ over: () => [1], each, concurrency: 0 }))).toThrow(/concurrency must be an integer >= 1, got 0/)
    expect(() => atLeast(-1)).toThrow(/atLeast\(count\)/)
  })
})
