import { describe, expect, it } from "vitest"
import { advanceLive, eraseLine, initialLiveState, liveView, shouldBeLive, statusLine, terminalOutput } from "../../src/cli/progress.ts"
import type { RunEvent } from "../../src/contract/events.ts"

const usage = { inputTokens: 120, outputTokens: 40, cachedInputTokens: 0, costUsd: 0.0012, calls: 1, unpricedCalls: 0 }
const rateLimited = { _tag: "ModelError", step: "draft", provider: "openai", model: "gpt", reason: "rate-limited", retryable: true, message: "429" } as const

const run: RunEvent[] = [
  { type: "run.started", runId: "r1", pipeline: "writer", input: {}, at: 1_000 },
  { type: "step.started", runId: "r1", step: "draft", visit: 1, at: 1_000 },
  { type: "step.retried", runId: "r1", step: "draft", visit: 1, attempt: 1, error: rateLimited, delayMs: 500, at: 1_200 },
  { type: "step.finished", runId: "r1", step: "draft", visit: 1, output: "text", next: "done", attempts: 2, durationMs: 900, usage, at: 1_900 },
  { type: "route.taken", runId: "r1", from: "draft", to: "done", at: 1_900 },
  { type: "run.finished", runId: "r1", status: "done", durationMs: 900, at: 1_900 },
]

// Replays events into a view at the events' own times, collecting each frame it writes.
const framesOf = (events: readonly RunEvent[], columns = 100) => {
  const frames: string[] = []
  let now = 0
  const view = liveView({ write: (text) => frames.push(text), columns: () => columns, now: () => now, refreshMs: 0 })
  for (const event of events) {
    now = event.at
    view.event(event)
  }
  return { frames, view, setNow: (at: number) => (now = at) }
}

describe("live progress view", () => {
  it("prints each event line above one status line that is redrawn in place", () => {
    const { frames } = framesOf(run)
    expect(frames).toEqual([
      "▶ writer (run r1)\n",
      "→ draft\n● draft · 0 in / 0 out tokens · $0.0000 · 0ms",
      `${eraseLine}↻ draft attempt 1 failed, retrying in 500ms: ModelError (rate-limited): 429\n● draft attempt 2 · 1 retry · 0 in / 0 out tokens · $0.0000 · 200ms`,
      `${eraseLine}✓ draft 900ms, 2 attempts, 120+40 tokens\n`,
      "  draft ⇒ done\n",
      "■ done in 900ms\n",
    ])
  })

  it("adds up tokens and cost over steps and counts retries", () => {
    const second: RunEvent = { type: "step.started", runId: "r1", step: "polish", visit: 1, at: 3_000 }
    const state = [...run.slice(0, 4), second].reduce(advanceLive, initialLiveState)
    expect(statusLine(state, 4_500, 100)).toBe("● polish · 1 retry · 120 in / 40 out tokens · $0.0012 · 3.5s")
  })

  it("redraws only the status line on a tick, and clears it when closed", () => {
    const { frames, view, setNow } = framesOf(run.slice(0, 2))
    setNow(2_500)
    view.tick()
    view.tick()
    view.close()
    expect(frames.slice(2)).toEqual([`${eraseLine}● draft · 0 in / 0 out tokens · $0.0000 · 1.5s`, eraseLine])
  })

  it("keeps other lines (the result, errors on stderr) above the status line", () => {
    const { frames, view } = framesOf(run.slice(0, 2))
    const errors: string[] = []
    view.line("a note")
    view.line("boom", (text) => errors.push(text))
    expect(frames.slice(2)).toEqual([
      `${eraseLine}a note\n● draft · 0 in / 0 out tokens · $0.0000 · 0ms`,
      eraseLine,
      "● draft · 0 in / 0 out tokens · $0.0000 · 0ms",
    ])
    expect(errors).toEqual(["boom\n"])
  })

  it("cuts the status line to the terminal width so it never wraps", () => {
    const { frames } = framesOf(run.slice(0, 2), 20)
    expect(frames[1]).toBe("→ draft\n● draft · 0 in / 0…")
    expect([...(frames[1]?.split("\n")[1] ?? "")]).toHaveLength(19)
  })

  it("hides the status line while a human decides", () => {
    const waiting: RunEvent = { type: "human.waiting", runId: "r1", step: "review", visit: 1, at: 1_100 }
    const { frames } = framesOf([run[1] as RunEvent, waiting])
    expect(frames[1]).toBe(`${eraseLine}⏸ review waits for a human decision\n`)
  })
})

describe("choosing the view", () => {
  it("is live only in a terminal outside CI", () => {
    expect(shouldBeLive({ isTTY: true }, {})).toBe(true)
    expect(shouldBeLive({ isTTY: true }, { CI: "true" })).toBe(false)
    expect(shouldBeLive({ isTTY: true }, { CI: "false" })).toBe(true)
    expect(shouldBeLive({ isTTY: true }, { TERM: "dumb" })).toBe(false)
    expect(shouldBeLive({ isTTY: false }, {})).toBe(false)
    expect(shouldBeLive({}, {})).toBe(false)
  })

  it("writes one plain line per call when piped, and no event hook", () => {
    const written: string[] = []
    const stream = { write: (text: string) => written.push(text) > 0, isTTY: false, columns: 0 }
    const output = terminalOutput(stream, stream, {})
    expect(output.event).toBeUndefined()
    output.out("→ draft")
    expect(written).toEqual(["→ draft\n"])
  })

  it("routes run events through the live view in a terminal", () => {
    const written: string[] = []
    const stream = { write: (text: string) => written.push(text) > 0, isTTY: true, columns: 0 }
    const output = terminalOutput(stream, stream, { CI: "" })
    // The status line times the step from its event against the clock.
    output.event?.({ ...(run[1] as RunEvent), at: Date.now() })
    output.event?.(run[5] as RunEvent)
    expect(written[0]).toMatch(/^→ draft\n● draft · 0 in \/ 0 out tokens · \$0\.0000 · \d+ms$/)
    expect(written[1]).toBe(`${eraseLine}■ done in 900ms\n`)
  })
})
