// The examples are documentation that runs: each main() is called silenced and must do what its
// comments promise. The demo runs as `npm start` does, in a child process.
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { main as chain } from "../examples/01-chain.ts"
import { main as routing } from "../examples/02-routing.ts"
import { main as loop } from "../examples/03-loop-with-stop-rule.ts"
import { approval, main as handoff } from "../examples/04-human-handoff.ts"
import { main as resilience, retryAfterMs } from "../examples/05-retry-timeout-fallback.ts"
import { samples } from "../machines/support-triage.machine.ts"
import type { RunEvent } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const silent = { log: () => {} }
const routesOf = (events: readonly RunEvent[]) => events.flatMap((event) => (event.type === "route.taken" ? [`${event.from}→${event.to}`] : []))

/** Advances fake time in small slices until the promise settles. */
const settle = async <T>(promise: Promise<T>): Promise<T> => {
  let settled = false
  void promise.finally(() => (settled = true))
  while (!settled) await vi.advanceTimersByTimeAsync(10)
  return promise
}

describe("examples", () => {
  it("01 chains outline → write → count, feeding each step the previous output", async () => {
    const { result, calls } = await chain(silent)
    expect(result).toMatchObject({ status: "done", step: "count", output: { words: 18 } })
    expect(result.steps.write).toContain("Owls hunt at night")
    expect(calls).toBe(2)
  })

  it("02 routes each ticket by kind and confidence", async () => {
    const runs = await routing(silent)
    expect(runs.map((run) => [run.routes[0], run.result.status, run.calls])).toEqual([
      ["classify → refund", "done", 1],
      ["classify → answer", "done", 2],
      ["classify → escalate", "done", 1],
    ])
    expect(runs[2]?.result).toMatchObject({ step: "escalate", output: "queued for a person" })
  })

  it("03 leaves the loop by its route, or by maxVisits(3) through the stopped edge", async () => {
    const { convinced, neverSatisfied } = await loop(silent)
    expect(convinced.result).toMatchObject({ status: "done", step: "publish", output: { score: 9, tagline: "Owls: silent hunters of the night." } })
    expect(convinced.calls).toBe(4)
    expect(neverSatisfied.result).toMatchObject({ status: "done", step: "publish", output: { score: 6, tagline: "Tea: a warm pause." } })
    expect(neverSatisfied.calls).toBe(6)
    expect(routesOf(neverSatisfied.events).slice(-2)).toEqual(["critique→publish", "publish→done"])
    expect(neverSatisfied.events.at(-1)).toMatchObject({ type: "run.finished", stoppedBy: { step: "draft", rule: "maxVisits(3)" } })
    expect(convinced.events.at(-1)).not.toHaveProperty("stoppedBy")
  })

  it("04 hands off to a person via send, via run + decide, and via the timeout route", async () => {
    const { sent, liveEvents, paused, discarded, escalated } = await handoff(silent)
    expect(sent).toMatchObject({ status: "done", step: "send", output: { sent: "Sorry for the delay, your parcel ships today." } })
    expect(liveEvents.map((event) => event.type)).toContain("human.decided")
    expect(paused).toMatchObject({ status: "awaiting-human", step: "review", prompt: expect.stringContaining("Send this reply?") })
    if (paused.status === "awaiting-human") expect(paused.deadline).toBeGreaterThan(Date.now() + 119 * 60_000)
    expect(discarded).toMatchObject({ status: "done", step: "discard", output: { discarded: true, why: "tone is too casual" }, runId: paused.runId })
    expect(escalated).toMatchObject({ status: "done", step: "escalate" })
  })

  describe("under fake time", () => {
    beforeEach(() => {
      vi.useFakeTimers()
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    it("04 escalates when the 2h review deadline passes, and not a minute before", async () => {
      const handle = approval.start({ ticket: "t" }, { models: { fast: scriptedModel(["draft"]) } })
      let done = false
      void handle.result.then(() => (done = true))
      await vi.advanceTimersByTimeAsync(119 * 60_000)
      expect(done).toBe(false)
      expect(handle.actor.getSnapshot().value).toBe("review")
      await vi.advanceTimersByTimeAsync(60_000)
      expect(await handle.result).toMatchObject({ status: "done", step: "escalate", output: { escalated: "no decision within 2h" } })
    })

    it("05 waits out the rate limit, times out a hung attempt, then falls back to the backup model", async () => {
      const started = Date.now()
      const { result, events, models } = await settle(resilience(silent))
      expect(result).toMatchObject({ status: "done", step: "headline", output: "Silent hunters" })
      expect(result.steps).toMatchObject({ summarize: "Owls hunt silently at night.", translate: "Les hiboux chassent en silence la nuit." })

      const retries = events.filter((event) => event.type === "step.retried")
      expect(retries).toMatchObject([
        { step: "summarize", attempt: 1, delayMs: retryAfterMs, error: { _tag: "ModelError", reason: "rate-limited", retryAfterMs } },
        { step: "translate", attempt: 1, delayMs: 100, error: { _tag: "StepTimeoutError", scope: "attempt", ms: 500 } },
        { step: "headline", attempt: 1, error: { reason: "server", status: 503 } },
      ])
      const summarizeCalls = models.fast.calls
      expect(summarizeCalls).toHaveLength(2)
      expect((summarizeCalls[1]?.startedAt ?? 0) - (summarizeCalls[0]?.startedAt ?? 0)).toBeGreaterThanOrEqual(retryAfterMs)
      expect(models.slow.calls.map((call) => call.aborted)).toEqual([true, false])
      expect(models.primary.calls).toHaveLength(2)
      expect(models.backup.calls).toHaveLength(1)
      expect(events.filter((event) => event.type === "model.fallback")).toMatchObject([{ step: "headline", from: "primary", to: "backup" }])
      // 1000ms rate limit + 500ms timeout + 100ms + 100ms backoffs.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_700)
    })
  })

  it("npm start runs the demo: exit code 0 and a result for every sample ticket", async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-demo-"))
    try {
      const demo = fileURLToPath(new URL("../examples/demo.ts", import.meta.url))
      const { stdout } = await promisify(execFile)(process.execPath, [demo], { cwd: directory, env: { ...process.env, NO_COLOR: "1" }, timeout: 30_000 })
      expect(stdout).not.toContain("\u001b[")
      const table = stdout.slice(stdout.lastIndexOf("Results"))
      for (const [index, sample] of samples.entries()) {
        expect(table).toMatch(new RegExp(`^${index + 1}\\s+${sample.name}\\s+(done|awaiting-human)`, "m"))
      }
      expect(table).toMatch(/classify → lookupOrder → refund → answer/)
      expect(stdout).toContain("SIMULATED REVIEWER")
      expect(stdout).toMatch(/↻ classify attempt 1 failed/)
    } finally {
      rmSync(directory, { recursive: true, force: true })
    }
  })
})
