import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { fn, human, pipeline } from "../../src/index.ts"

const day = 86_400_000

// Node runs a timer of more than 2^31 - 1 ms (24.8 days) after 1 ms: a long deadline must not.
const review = pipeline({ id: "long-review", input: z.object({}) })
  .step("ask", human({ decision: z.object({ ok: z.boolean() }), timeout: "30d" }))
  .step(
    "escalate",
    fn(() => "escalated"),
  )
  .step(
    "accept",
    fn(() => "accepted"),
  )
  .edges({ ask: { next: "accept", timeout: "escalate" }, escalate: "done", accept: "done" })

describe("a human deadline longer than Node's longest timer", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("waits the whole 30 days, then takes the timeout route", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })
    const handle = review.start({})
    await vi.advanceTimersByTimeAsync(1_000)
    expect(handle.actor.getSnapshot().value).toBe("ask")
    await vi.advanceTimersByTimeAsync(25 * day)
    expect(handle.actor.getSnapshot().value).toBe("ask")
    await vi.advanceTimersByTimeAsync(5 * day)
    expect(await handle.result).toMatchObject({ status: "done", output: "escalated" })
  })

  it("still takes the decision made on day 29", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] })
    const handle = review.start({})
    await vi.advanceTimersByTimeAsync(29 * day)
    handle.send("ask", { ok: true })
    expect(await handle.result).toMatchObject({ status: "done", output: "accepted" })
  })
})
