import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { callTool, fn, human, type Journal, type JournalEntry, llm, maxVisits, memoryJournal, pipeline, ResumeError, route, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

/** A journal holding only the first entries of another run's journal: the state a crash leaves. */
const crashedAt = async (source: Journal, runId: string, keep: (entries: readonly JournalEntry[]) => number): Promise<Journal> => {
  const entries = await source.read(runId)
  const journal = memoryJournal()
  for (const entry of entries.slice(0, keep(entries))) await journal.append(entry)
  return journal
}
const indexAfter = (predicate: (entry: JournalEntry) => boolean) => (entries: readonly JournalEntry[]) => entries.findIndex(predicate) + 1

/** An order pipeline whose payment tool records every call with its idempotency key. */
const makeOrder = () => {
  const calls = { prepare: 0, charges: [] as string[] }
  const charge = tool({
    name: "charge",
    input: z.object({ amount: z.number() }),
    idempotent: true,
    run: async ({ amount }, { idempotencyKey }) => {
      calls.charges.push(idempotencyKey)
      return { receipt: `r-${amount}` }
    },
  })
  const order = pipeline({ id: "order", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input }) => {
        calls.prepare += 1
        return { amount: input.amount * 2 }
      }),
    )
    .step(
      "charge",
      callTool(charge, ({ steps }) => ({ amount: steps.prepare?.amount ?? 0 })),
    )
    .step("confirm", llm({ model: "fast", prompt: ({ steps }) => `Confirm ${steps.charge?.receipt}` }))
    .edges({ prepare: "charge", charge: "confirm", confirm: "done" })
  return { order, calls }
}

afterEach(() => {
  vi.useRealTimers()
})

describe("resume after a crash", () => {
  it("never re-runs a finished step and re-runs the in-flight one with the same idempotency key", async () => {
    const first = makeOrder()
    const journal = memoryJournal()
    const full = await first.order.run({ amount: 5 }, { journal, runId: "o1", models: { fast: scriptedModel(["confirmed"]) } })
    expect(full).toMatchObject({ status: "done", output: "confirmed" })
    // The process died while "charge" was running: its step.started is journaled, its result is not.
    const crashed = await crashedAt(
      journal,
      "o1",
      indexAfter((entry) => entry.type === "step.started" && entry.step === "charge"),
    )

    const second = makeOrder()
    const model = scriptedModel(["confirmed again"])
    const resumed = await second.order.resume("o1", { journal: crashed, models: { fast: model } })
    expect(resumed).toMatchObject({ status: "done", output: "confirmed again", steps: { prepare: { amount: 10 }, charge: { receipt: "r-10" } } })
    expect(second.calls.prepare).toBe(0)
    expect(second.calls.charges).toEqual(first.calls.charges)
    expect(second.calls.charges).toEqual(["o1:charge:1"])

    const entries = await crashed.read("o1")
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    // the in-flight step is journaled as started once, and finished once
    expect(entries.filter((entry) => entry.type === "step.started" && entry.step === "charge")).toHaveLength(1)
    expect(entries.filter((entry) => entry.type === "step.finished").map((entry) => entry.type === "step.finished" && entry.step)).toEqual([
      "prepare",
      "charge",
      "confirm",
    ])
    expect(entries.filter((entry) => entry.type === "route.taken")).toHaveLength(3)
    expect(entries.filter((entry) => entry.type === "tool.called")).toMatchObject([
      { step: "charge", tool: "charge", args: { amount: 10 }, result: { receipt: "r-10" } },
    ])
  })

  it("replays loops visit by visit", async () => {
    const build = (drafts: string[]) =>
      pipeline({ id: "writer", input: z.object({}) })
        .step(
          "draft",
          fn(({ visit }) => {
            drafts.push(`draft ${visit}`)
            return `draft ${visit}`
          }),
        )
        .step(
          "critique",
          fn(({ steps }) => ({ ok: steps.draft === "draft 3" })),
        )
        .edges({ draft: { next: "critique", stop: maxVisits(5) }, critique: route(["draft", "done"], ({ output }) => (output.ok ? "done" : "draft")) })
    const journal = memoryJournal()
    expect(await build([]).run({}, { journal, runId: "w" })).toMatchObject({ status: "done", step: "critique" })
    const crashed = await crashedAt(
      journal,
      "w",
      (entries) => entries.findIndex((entry) => entry.type === "step.started" && entry.step === "draft" && entry.visit === 3) + 1,
    )
    const drafts: string[] = []
    expect(await build(drafts).resume("w", { journal: crashed })).toMatchObject({ status: "done", steps: { draft: "draft 3" } })
    expect(drafts).toEqual(["draft 3"])
  })

  it("resumes a run that crashed while waiting for a person, keeping its deadline", async () => {
    vi.useFakeTimers()
    const approval = pipeline({ id: "approval", input: z.object({}) })
      .step("review", human({ decision: z.object({ ok: z.boolean() }), timeout: "1h" }))
      .step(
        "late",
        fn(() => "escalated"),
      )
      .edges({ review: { next: "done", timeout: "late" }, late: "done" })
    const journal = memoryJournal()
    const paused = await approval.run({}, { journal, runId: "a" })
    expect(paused).toMatchObject({ status: "awaiting-human" })
    const deadline = paused.status === "awaiting-human" ? paused.deadline : 0
    // 30 minutes later the process restarts: the run waits again, on the same deadline.
    vi.setSystemTime(Date.now() + 30 * 60_000)
    const again = await approval.resume("a", { journal })
    expect(again).toMatchObject({ status: "awaiting-human", step: "review", deadline })
    // After the deadline a resume takes the timeout route.
    vi.setSystemTime((deadline ?? 0) + 1)
    const handle = approval.resume("a", { journal })
    await vi.advanceTimersByTimeAsync(0)
    expect(await handle).toMatchObject({ status: "done", step: "late", output: "escalated" })
    expect((await journal.read("a")).filter((entry) => entry.type === "human.expired")).toHaveLength(1)
  })
})

describe("resume refuses what it cannot do, writing nothing", () => {
  const simple = pipeline({ id: "simple", input: z.object({}) })
    .step(
      "only",
      fn(() => 1),
    )
    .edges({ only: "done" })

  it("names an unknown, finished, foreign or corrupt run", async () => {
    const journal = memoryJournal()
    await simple.run({}, { journal, runId: "done-run" })
    await expect(simple.resume("missing", { journal })).rejects.toMatchObject({ reason: "unknown-run" })
    await expect(simple.resume("done-run", { journal })).rejects.toMatchObject({ reason: "finished" })
    const other = pipeline({ id: "other", input: z.object({}) })
      .step(
        "only",
        fn(() => 1),
      )
      .edges({ only: "done" })
    const otherJournal = memoryJournal()
    await otherJournal.append({ seq: 0, type: "run.started", runId: "x", pipeline: "other", input: {}, at: 0 })
    await expect(simple.resume("x", { journal: otherJournal })).rejects.toMatchObject({ reason: "other-pipeline" })
    const corrupt = memoryJournal()
    await corrupt.append({ seq: 0, type: "step.started", runId: "c", step: "only", visit: 1, at: 0 })
    const error = await simple.resume("c", { journal: corrupt }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ResumeError)
    expect(error).toMatchObject({ reason: "corrupt-journal", message: expect.stringContaining("not run.started") })
    expect(await corrupt.read("c")).toHaveLength(1)
    void other
  })

  it("refuses a pipeline whose graph changed, naming the change, unless told to go on", async () => {
    const v1 = pipeline({ id: "flow", input: z.object({}) })
      .step(
        "a",
        fn(() => "a"),
      )
      .step("wait", human({ decision: z.boolean() }))
      .edges({ a: "wait", wait: "done" })
    const v2 = pipeline({ id: "flow", input: z.object({}) })
      .step(
        "a",
        fn(() => "a"),
      )
      .step("wait", human({ decision: z.boolean() }))
      .step(
        "b",
        fn(() => "b"),
      )
      .edges({ a: "wait", wait: "b", b: "done" })
    const journal = memoryJournal()
    await v1.run({}, { journal, runId: "f" })
    const error = (await v2.decide("f", "wait", true, { journal }).catch((caught: unknown) => caught)) as ResumeError
    expect(error).toMatchObject({ reason: "structure-changed" })
    expect(error.changes).toEqual([
      'step "wait" changed: {"name":"wait","kind":"human","next":["done"]} → {"name":"wait","kind":"human","next":["b"]}',
      'step "b" was added',
    ])
    expect(await v2.decide("f", "wait", true, { journal, allowStructureChange: true })).toMatchObject({ status: "done", output: "b" })
  })

  it("refuses a run another process is executing", async () => {
    const journal: Journal = { ...memoryJournal(), claim: async () => undefined }
    await journal.append({ seq: 0, type: "run.started", runId: "busy", pipeline: "simple", input: {}, at: 0 })
    await expect(simple.resume("busy", { journal })).rejects.toMatchObject({ reason: "claimed" })
  })

  it("stops executing, appending nothing more, when the claim is lost", async () => {
    const lost = new AbortController()
    const base = memoryJournal()
    const journal: Journal = { ...base, claim: async () => ({ release: async () => {}, signal: lost.signal }) }
    await journal.append({ seq: 0, type: "run.started", runId: "l", pipeline: "slow", input: {}, at: 0 })
    let entered = false
    const slow = pipeline({ id: "slow", input: z.object({}) })
      .step(
        "wait",
        fn(({ signal }) => {
          entered = true
          return new Promise<number>((resolve) => {
            const timer = setTimeout(() => resolve(1), 5_000)
            signal.addEventListener("abort", () => clearTimeout(timer))
          })
        }),
      )
      .edges({ wait: "done" })
    const result = slow.resume("l", { journal })
    await vi.waitFor(() => expect(entered).toBe(true))
    const before = (await journal.read("l")).length
    lost.abort()
    expect(await result).toMatchObject({
      status: "failed",
      error: { _tag: "JournalError", reason: "claim-lost", message: expect.stringContaining("lost the claim on run l") },
    })
    expect((await journal.read("l")).length).toBe(before)
  })

  it("holds the claim while executing and releases it after", async () => {
    const events: string[] = []
    const base = memoryJournal()
    const journal: Journal = {
      ...base,
      claim: async (runId) => {
        events.push(`claim ${runId}`)
        return { release: async () => void events.push(`release ${runId}`) }
      },
    }
    await journal.append({ seq: 0, type: "run.started", runId: "r", pipeline: "simple", input: {}, at: 0 })
    expect(await simple.resume("r", { journal })).toMatchObject({ status: "done", output: 1 })
    expect(events).toEqual(["claim r", "release r"])
  })
})
