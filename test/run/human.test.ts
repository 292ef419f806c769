import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { DecisionError, fn, human, memoryJournal, pipeline, type RunEvent, route } from "../../src/index.ts"

const Review = z.object({ approve: z.boolean(), note: z.string().optional() })

const approval = (withTimeoutEdge = true) =>
  pipeline({ id: "approval", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input }) => ({ amount: input.amount, currency: "EUR" })),
    )
    .step("review", human({ decision: Review, timeout: "24h", prompt: ({ steps }) => `Approve ${steps.prepare?.amount} ${steps.prepare?.currency}?` }))
    .step(
      "pay",
      fn(({ steps }) => `paid ${steps.prepare?.amount}`),
    )
    .step(
      "reject",
      fn(({ steps }) => `rejected: ${steps.review?.note ?? "no note"}`),
    )
    .step(
      "escalate",
      fn(() => "escalated to a manager"),
    )
    .edges({
      prepare: "review",
      review: { next: route(["pay", "reject"], ({ output }) => (output.approve ? "pay" : "reject")), timeout: withTimeoutEdge ? "escalate" : "reject" },
      pay: "done",
      reject: "done",
      escalate: "done",
    })

afterEach(() => {
  vi.useRealTimers()
})

describe("human handoff", () => {
  it("waits for a typed decision sent through the handle and routes on it", async () => {
    const handle = approval(true).start({ amount: 120 })
    const seen: RunEvent[] = []
    const consume = (async () => {
      for await (const event of handle.events) {
        seen.push(event)
        if (event.type === "human.waiting") handle.send("review", { approve: false, note: "too much" })
      }
    })()
    expect(await handle.result).toMatchObject({ status: "done", step: "reject", output: "rejected: too much" })
    await consume
    expect(seen.find((event) => event.type === "human.waiting")).toMatchObject({ step: "review", prompt: "Approve 120 EUR?" })
    expect(seen.find((event) => event.type === "human.decided")).toMatchObject({ decision: { approve: false, note: "too much" } })
    expect(seen.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
  })

  it("rejects an invalid decision with a typed error and leaves the run waiting", async () => {
    const handle = approval(true).start({ amount: 5 })
    await vi.waitFor(() => expect(handle.actor.getSnapshot().value).toBe("review"))
    let error: unknown
    try {
      handle.send("review", { approve: "yes" } as never)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(DecisionError)
    expect(error).toMatchObject({ reason: "invalid-decision", issues: [{ path: "approve" }] })
    expect(() => handle.send("pay" as never, {} as never)).toThrow(/not a human step/)
    expect(handle.actor.getSnapshot().value).toBe("review")
    handle.send("review", { approve: true })
    expect(await handle.result).toMatchObject({ status: "done", output: "paid 5" })
  })

  it("follows the timeout edge when no decision arrives before the deadline", async () => {
    vi.useFakeTimers()
    const handle = approval(true).start({ amount: 5 })
    await vi.advanceTimersByTimeAsync(0)
    expect(handle.actor.getSnapshot().value).toBe("review")
    await vi.advanceTimersByTimeAsync(24 * 3_600_000 - 1)
    expect(handle.actor.getSnapshot().value).toBe("review")
    await vi.advanceTimersByTimeAsync(1)
    expect(await handle.result).toMatchObject({ status: "done", step: "escalate", output: "escalated to a manager" })
  })

  it("fails with HumanTimeoutError when the timeout has no edge", async () => {
    vi.useFakeTimers()
    const p = pipeline({ id: "strict", input: z.object({}) })
      .step("review", human({ decision: Review, timeout: "24h" }))
      .edges({ review: "done" })
    const handle = p.start({})
    await vi.advanceTimersByTimeAsync(24 * 3_600_000)
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "HumanTimeoutError", step: "review", ms: 86_400_000 } })
  })

  it("run() pauses awaiting-human; decide() continues from the journal", async () => {
    const journal = memoryJournal()
    const p = approval(true)
    const paused = await p.run({ amount: 70 }, { journal, runId: "h1" })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review", prompt: "Approve 70 EUR?", steps: { prepare: { amount: 70 } } })
    if (paused.status !== "awaiting-human") return
    expect(paused.deadline).toBeGreaterThan(Date.now())
    await expect(p.decide("h1", "review", { approve: 1 } as never, { journal })).rejects.toMatchObject({ reason: "invalid-decision" })
    await expect(p.decide("nope", "review", { approve: true }, { journal })).rejects.toMatchObject({ name: "ResumeError", reason: "unknown-run" })
    const observed: string[] = []
    const finished = await p.decide("h1", "review", { approve: true }, { journal, observers: [(event) => observed.push(event.type)] })
    expect(observed[0]).toBe("human.decided")
    expect(finished).toMatchObject({ status: "done", output: "paid 70", runId: "h1" })
    const entries = await journal.read("h1")
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(entries.filter((entry) => entry.type === "step.finished").map((entry) => entry.step)).toEqual(["prepare", "pay"])
    await expect(p.decide("h1", "review", { approve: true }, { journal })).rejects.toMatchObject({ name: "ResumeError", reason: "finished" })
  })

  it("refuses a decision that comes after the deadline as late; the timeout route applies", async () => {
    vi.useFakeTimers()
    const journal = memoryJournal()
    const p = approval(true)
    await p.run({ amount: 1 }, { journal, runId: "late" })
    vi.setSystemTime(Date.now() + 25 * 3_600_000)
    const before = await journal.read("late")
    await expect(p.decide("late", "review", { approve: true }, { journal })).rejects.toMatchObject({ name: "DecisionError", reason: "late" })
    expect(await journal.read("late")).toEqual(before)
    expect(await p.resume("late", { journal })).toMatchObject({ status: "done", step: "escalate" })
  })

  it("a human step can be the first step", async () => {
    const p = pipeline({ id: "ask-first", input: z.object({}) })
      .step("ask", human({ decision: z.string() }))
      .step(
        "echo",
        fn(({ steps }) => `you said ${steps.ask}`),
      )
      .edges({ ask: "echo", echo: "done" })
    const journal = memoryJournal()
    expect(await p.run({}, { journal, runId: "f" })).toMatchObject({ status: "awaiting-human", step: "ask", deadline: null })
    expect(await p.decide("f", "ask", "hi", { journal })).toMatchObject({ status: "done", output: "you said hi" })
  })
})

describe("a route that fails on a human decision", () => {
  class RoutingBug extends Error {
    override readonly name = "RoutingBug"
  }
  const reviewThen = (select: () => "pay" | "done") =>
    pipeline({ id: "review-routes", input: z.object({}) })
      .step("review", human({ decision: Review }))
      .step(
        "pay",
        fn(() => "paid"),
      )
      .edges({ review: route(["pay", "done"], select), pay: "done" })
  const reviewOrFix = (select: () => "pay" | "done") =>
    pipeline({ id: "review-routes", input: z.object({}) })
      .step("review", human({ decision: Review }))
      .step(
        "pay",
        fn(() => "paid"),
      )
      .step(
        "fix",
        fn(() => "fixed by hand"),
      )
      .edges({ review: { next: route(["pay", "done"], select), error: "fix" }, pay: "done", fix: "done" })
  const throwing = () => {
    throw new RoutingBug("no route for this decision", { cause: new TypeError("amount is undefined") })
  }

  it("takes the step's error edge with the thrown error's evidence, journaled as the step's failure", async () => {
    const journal = memoryJournal()
    const p = reviewOrFix(throwing)
    await p.run({}, { journal, runId: "routed" })

    const result = await p.decide("routed", "review", { approve: true }, { journal })

    expect(result).toMatchObject({ status: "done", step: "fix", output: "fixed by hand" })
    const entries = await journal.read("routed")
    const failed = entries.find((entry) => entry.type === "step.failed")
    expect(failed).toMatchObject({
      step: "review",
      visit: 1,
      error: {
        _tag: "StepCodeError",
        step: "review",
        name: "RoutingBug",
        message: 'route of "review" threw: no route for this decision',
        cause: { name: "TypeError", message: "amount is undefined" },
      },
    })
    expect(entries.filter((entry) => entry.type === "route.taken").map((entry) => entry.type === "route.taken" && entry.to)).toEqual(["fix", "done"])
    // The run went on: the route's failure is the step's, not the run's.
    expect(entries.find((entry) => entry.type === "run.finished")).not.toHaveProperty("error")
  })

  it("ends the run failed, not waiting, when the route names a target it did not declare", async () => {
    const journal = memoryJournal()
    const p = reviewThen(() => "nowhere" as "pay")
    await p.run({}, { journal, runId: "undeclared" })

    const result = await p.decide("undeclared", "review", { approve: true }, { journal })

    expect(result).toMatchObject({ status: "failed", error: { _tag: "RouteError", step: "review", target: "nowhere" } })
  })

  it("without an error edge, ends the run failed with the thrown error, journaled as the step's and the run's failure", async () => {
    const journal = memoryJournal()
    const p = reviewThen(throwing)
    await p.run({}, { journal, runId: "again" })
    const first = await p.decide("again", "review", { approve: false }, { journal })

    expect(first).toMatchObject({ status: "failed", error: { step: "review", name: "RoutingBug" } })
    const entries = await journal.read("again")
    expect(entries.filter((entry) => entry.type === "step.failed")).toMatchObject([{ step: "review", error: { name: "RoutingBug" } }])
    expect(entries.filter((entry) => entry.type === "run.finished")).toMatchObject([{ status: "failed", error: { step: "review", name: "RoutingBug" } }])
  })
})
