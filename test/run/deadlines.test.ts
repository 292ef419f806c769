// Deadlines fire by themselves: a live handle's timers, the timer of the process that paused a run,
// approval deadlines of agent tools, and decisions that come too late.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import {
  agent,
  DecisionError,
  fn,
  human,
  type Journal,
  type JournalEntry,
  maxSteps,
  memoryJournal,
  pipeline,
  type RunEvent,
  sqliteJournal,
  tool,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

afterEach(() => {
  vi.useRealTimers()
})

const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

/** prepare → review (human, with a deadline) → approved | escalate (its timeout edge). */
const reviewed = (timeout: "1h" | "300ms" = "1h") =>
  pipeline({ id: "reviewed", input: z.object({ amount: z.number() }) })
    .step(
      "prepare",
      fn(({ input }) => input.amount),
    )
    .step("review", human({ decision: z.object({ approve: z.boolean() }), timeout }))
    .step(
      "approved",
      fn(() => "approved"),
    )
    .step(
      "escalate",
      fn(() => "escalated"),
    )
    .edges({ prepare: "review", review: { next: "approved", timeout: "escalate" }, approved: "done", escalate: "done" })

const typesOf = (entries: readonly JournalEntry[]) => entries.map((entry) => entry.type)

// Fake timers and Date only: a step's runtime still loads (a dynamic import) in real time.
const fakeTime = () => vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] })
const realTurn = () => new Promise((resolve) => setImmediate(resolve))

/** Lets real and fake time pass in small hops until `done()` holds (bounded by 5 s of real time: fails instead of hanging). */
const advanceUntil = async (done: () => boolean | Promise<boolean>, what: string) => {
  const giveUp = performance.now() + 5_000
  while (performance.now() < giveUp) {
    if (await done()) return
    await vi.advanceTimersByTimeAsync(1)
    await realTurn()
  }
  throw new Error(`gave up waiting for ${what}`)
}

const finished = (journal: Journal, runId: string) => async () => (await journal.read(runId)).some((entry) => entry.type === "run.finished")

describe("a run paused by run() follows its deadline in the process that paused it", () => {
  it("takes the timeout route at the deadline by itself, with the run's observers told", async () => {
    fakeTime()
    const journal = memoryJournal()
    const seen: RunEvent[] = []
    const paused = await reviewed().run({ amount: 5 }, { journal, runId: "timer-1", onEvent: (event) => seen.push(event) })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review" })
    const deadline = paused.status === "awaiting-human" ? (paused.deadline ?? 0) : 0
    await vi.advanceTimersByTimeAsync(deadline - Date.now() - 1_000)
    expect(typesOf(await journal.read("timer-1"))).not.toContain("human.expired")
    await vi.advanceTimersByTimeAsync(1_000)
    await advanceUntil(finished(journal, "timer-1"), "the run to finish")
    const entries = await journal.read("timer-1")
    expect(entries.filter((entry) => entry.type === "human.expired")).toHaveLength(1)
    expect(entries.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
    expect(entries.filter((entry) => entry.type === "step.finished").map((entry) => entry.type === "step.finished" && entry.step)).toEqual([
      "prepare",
      "escalate",
    ])
    expect(seen.map((event) => event.type)).toContain("human.expired")
    expect(seen.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
  })

  it("leaves alone a run decided before its deadline", async () => {
    fakeTime()
    const journal = memoryJournal()
    const p = reviewed()
    await p.run({ amount: 5 }, { journal, runId: "timer-2" })
    expect(await p.decide("timer-2", "review", { approve: true }, { journal })).toMatchObject({ status: "done", output: "approved" })
    const before = await journal.read("timer-2")
    await vi.advanceTimersByTimeAsync(2 * 3_600_000)
    expect(await journal.read("timer-2")).toEqual(before)
  })

  it("takes the route on a real SQLite journal about when the deadline passes (300 ms, real time)", async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-deadline-"))
    folders.push(folder)
    const journal = sqliteJournal({ path: join(folder, "runs.db") })
    const paused = await reviewed("300ms").run({ amount: 5 }, { journal, runId: "timer-3" })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review" })
    const deadline = paused.status === "awaiting-human" ? (paused.deadline ?? 0) : 0
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "timer-3", status: "awaiting-human", deadline })])
    await vi.waitFor(() => expect(journal.runs()).toEqual([expect.objectContaining({ runId: "timer-3", status: "done" })]), { timeout: 5_000, interval: 20 })
    const expired = (await journal.read("timer-3")).find((entry) => entry.type === "human.expired")
    expect(expired?.at).toBeGreaterThanOrEqual(deadline)
    // About a second at most: the timer fires at the deadline itself.
    expect((expired?.at ?? Number.POSITIVE_INFINITY) - deadline).toBeLessThan(1_000)
    expect(journal.runs()[0]).not.toHaveProperty("deadline")
    journal.close()
  }, 10_000)
})

describe("a decision after the deadline is refused as late, the run unchanged", () => {
  it("decide() before anyone took the timeout route: late, nothing journaled; resume then takes the route", async () => {
    fakeTime()
    const journal = memoryJournal()
    const p = reviewed()
    await p.run({ amount: 1 }, { journal, runId: "late-1" })
    vi.setSystemTime(Date.now() + 3_600_000 + 1)
    const before = await journal.read("late-1")
    const refused = await p.decide("late-1", "review", { approve: true }, { journal }).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(DecisionError)
    expect(refused).toMatchObject({ reason: "late", message: expect.stringMatching(/decision for "review" refused: its deadline passed at .*Z/) })
    expect(await journal.read("late-1")).toEqual(before)
    expect(await p.resume("late-1", { journal })).toMatchObject({ status: "done", output: "escalated" })
  })

  it("decide() after the timeout route took the run to its end: late, not 'finished'", async () => {
    fakeTime()
    const journal = memoryJournal()
    const p = reviewed()
    await p.run({ amount: 1 }, { journal, runId: "late-2" })
    await vi.advanceTimersByTimeAsync(3_600_000)
    await advanceUntil(finished(journal, "late-2"), "the timeout route")
    const before = await journal.read("late-2")
    await expect(p.decide("late-2", "review", { approve: true }, { journal })).rejects.toMatchObject({ name: "DecisionError", reason: "late" })
    expect(await journal.read("late-2")).toEqual(before)
  })

  it("handle.send while the live run still waits past its deadline (its timer not run yet): late, run unchanged", async () => {
    fakeTime()
    const handle = reviewed().start({ amount: 1 })
    await advanceUntil(() => (handle.actor.getSnapshot().value as unknown) === "review", "the review step")
    vi.setSystemTime(Date.now() + 3_600_000 + 1)
    expect(() => handle.send("review", { approve: true })).toThrow(expect.objectContaining({ name: "DecisionError", reason: "late" }))
    expect(handle.actor.getSnapshot().value).toBe("review")
    // Its timer (set on fake time, which has not moved) still takes the timeout route.
    await vi.advanceTimersByTimeAsync(3_600_000)
    await advanceUntil(() => handle.actor.getSnapshot().status === "done", "the timeout route")
    expect(await handle.result).toMatchObject({ status: "done", output: "escalated" })
  })

  it("handle.send after the live run took its timeout route: late; a decision on time is not", async () => {
    fakeTime()
    const handle = reviewed().start({ amount: 1 })
    await advanceUntil(() => (handle.actor.getSnapshot().value as unknown) === "review", "the review step")
    await vi.advanceTimersByTimeAsync(3_600_000)
    await advanceUntil(() => handle.actor.getSnapshot().status === "done", "the timeout route")
    expect(await handle.result).toMatchObject({ status: "done", output: "escalated" })
    expect(() => handle.send("review", { approve: true })).toThrow(expect.objectContaining({ reason: "late" }))

    const onTime = reviewed().start({ amount: 1 })
    await advanceUntil(() => (onTime.actor.getSnapshot().value as unknown) === "review", "the review step")
    onTime.send("review", { approve: true })
    await advanceUntil(() => onTime.actor.getSnapshot().status === "done", "the approved route")
    expect(await onTime.result).toMatchObject({ status: "done", output: "approved" })
    vi.setSystemTime(Date.now() + 2 * 3_600_000)
    expect(() => onTime.send("review", { approve: true })).toThrow(expect.objectContaining({ reason: "not-waiting" }))
  })
})

/** An agent whose refunds wait for a person, at most `timeout` (on the tool, or as the agent's default). */
const refunds = (where: "tool" | "agent") => {
  const refunded: number[] = []
  const issueRefund = tool({
    name: "issueRefund",
    input: z.object({ amount: z.number() }),
    approval: where === "tool" ? { when: ({ amount }) => amount > 50, timeout: "4h" } : ({ amount }) => amount > 50,
    run: ({ amount }) => (refunded.push(amount), { refunded: amount }),
  })
  const p = pipeline({ id: `refunds-${where}`, input: z.object({ amount: z.number() }) })
    .step(
      "refund",
      agent({
        model: "smart",
        prompt: ({ input }) => `refund ${input.amount}`,
        tools: { issueRefund },
        stop: [maxSteps(6)],
        ...(where === "agent" ? { approval: { timeout: "4h" as const } } : {}),
      }),
    )
    .step(
      "reply",
      fn(({ steps }) => `reply: ${steps.refund}`),
    )
    .edges({ refund: "reply", reply: "done" })
  return { p, refunded }
}

/** Asks for one refund, then answers with what the tool call came back as. */
const oneRefund = (amount: number) =>
  scriptedModel([{ toolCalls: [{ id: "pay", name: "issueRefund", arguments: { amount } }] }, (request) => `final: ${request.messages.at(-1)?.content}`])

const refusal = "No decision on this call within 4h: its approval deadline passed, so it was not run."

describe("a tool approval with a deadline", () => {
  for (const where of ["tool", "agent"] as const) {
    it(`refuses the call when nobody decides in time (timeout set on the ${where}); the model is told and the tool never runs`, async () => {
      fakeTime()
      const { p, refunded } = refunds(where)
      const journal = memoryJournal()
      const handle = p.start({ amount: 80 }, { models: { smart: oneRefund(80) }, journal, runId: `approval-${where}` })
      await advanceUntil(() => handle.actor.getSnapshot().context.status === "awaiting-human", "the approval pause")
      const waiting = (await journal.read(`approval-${where}`)).find((entry) => entry.type === "human.waiting")
      const deadline = waiting?.type === "human.waiting" ? (waiting.deadline ?? 0) : 0
      expect(waiting).toMatchObject({ step: "refund", deadline: (waiting?.at ?? 0) + 4 * 3_600_000 })
      await vi.advanceTimersByTimeAsync(deadline - Date.now() - 1)
      expect(handle.actor.getSnapshot().value).toEqual({ refund: "awaitingApproval" })
      await vi.advanceTimersByTimeAsync(1)
      await advanceUntil(() => handle.actor.getSnapshot().status === "done", "the refused call")
      expect(await handle.result).toMatchObject({ status: "done", output: `reply: final: ${refusal}` })
      expect(refunded).toEqual([])
      const types = typesOf(await journal.read(`approval-${where}`))
      expect(types.filter((type) => type === "human.expired")).toHaveLength(1)
      expect(types).not.toContain("human.decided")
    })
  }

  it("a call the predicate does not pick runs without waiting", async () => {
    const { p, refunded } = refunds("tool")
    expect(await p.run({ amount: 20 }, { models: { smart: oneRefund(20) } })).toMatchObject({ status: "done", output: 'reply: final: {"refunded":20}' })
    expect(refunded).toEqual([20])
  })

  it("paused to the journal: the deadline is kept, a late decision is refused, a resume refuses the call; the expiry replays once", async () => {
    fakeTime()
    const { p, refunded } = refunds("tool")
    const journal = memoryJournal()
    // The model asks for 80, is refused by the deadline, then asks for 60 (which a person approves).
    const model = scriptedModel([
      { toolCalls: [{ id: "big", name: "issueRefund", arguments: { amount: 80 } }] },
      { toolCalls: [{ id: "smaller", name: "issueRefund", arguments: { amount: 60 } }] },
      (request) => `final: ${request.messages.at(-1)?.content}`,
    ])
    const paused = await p.run({ amount: 80 }, { models: { smart: model }, journal, runId: "durable" })
    expect(paused).toMatchObject({ status: "awaiting-human", step: "refund", deadline: Date.now() + 4 * 3_600_000 })
    vi.setSystemTime(Date.now() + 4 * 3_600_000)
    const before = await journal.read("durable")
    await expect(p.decide("durable", "refund", { action: "approve" }, { journal, models: { smart: model } })).rejects.toMatchObject({ reason: "late" })
    expect(await journal.read("durable")).toEqual(before)
    // The resume refuses the big call and the model asks again: a second pause, with its own deadline.
    const again = await p.resume("durable", { journal, models: { smart: model } })
    expect(again).toMatchObject({
      status: "awaiting-human",
      step: "refund",
      deadline: Date.now() + 4 * 3_600_000,
      prompt: expect.stringContaining('"amount":60'),
    })
    const done = await p.decide("durable", "refund", { action: "approve" }, { journal, models: { smart: model } })
    expect(done).toMatchObject({ status: "done", output: 'reply: final: {"refunded":60}' })
    expect(refunded).toEqual([60])
    const entries = await journal.read("durable")
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(typesOf(entries).filter((type) => type.startsWith("human."))).toEqual(["human.waiting", "human.expired", "human.waiting", "human.decided"])
    const calls = model.calls.map((call) => call.request.messages.at(-1)?.content)
    expect(calls[1]).toBe(refusal)
  })

  it("handle.send for an approval after its deadline is late", async () => {
    fakeTime()
    const { p } = refunds("tool")
    const handle = p.start({ amount: 80 }, { models: { smart: oneRefund(80) } })
    await advanceUntil(() => handle.actor.getSnapshot().context.status === "awaiting-human", "the approval pause")
    vi.setSystemTime(Date.now() + 4 * 3_600_000)
    expect(() => handle.send("refund", { action: "approve" })).toThrow(expect.objectContaining({ name: "DecisionError", reason: "late" }))
    expect(handle.actor.getSnapshot().value).toEqual({ refund: "awaitingApproval" })
    await vi.advanceTimersByTimeAsync(4 * 3_600_000)
    await advanceUntil(() => handle.actor.getSnapshot().status === "done", "the refused call")
    expect(await handle.result).toMatchObject({ status: "done", output: `reply: final: ${refusal}` })
    expect(() => handle.send("refund", { action: "approve" })).toThrow(expect.objectContaining({ reason: "late" }))
  })

  it("a bad approval timeout is refused when the step is added, naming it", () => {
    const build = (approval: unknown, agentApproval?: unknown) => () =>
      pipeline({ id: "bad", input: z.object({}) }).step(
        "refund",
        agent({
          model: "m",
          prompt: () => "",
          tools: { pay: tool({ name: "pay", input: z.object({}), approval: approval as never, run: () => 1 }) },
          stop: [maxSteps(1)],
          ...(agentApproval === undefined ? {} : { approval: agentApproval as never }),
        }),
      )
    expect(build({ timeout: "soon" })).toThrow(/pay\.approval\.timeout/)
    expect(build({ when: "yes" })).toThrow(/pay\.approval\.when/)
    expect(build(true, { timeout: -1 })).toThrow(/approval\.timeout/)
    expect(build({ when: () => true, timeout: "4h" }, { timeout: "1h" })).not.toThrow()
  })
})
