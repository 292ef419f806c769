import { describe, expect, it } from "vitest"
import { formatDuration, formatEvent, formatOutcome, formatResult, redact } from "../../src/cli/progress.ts"

describe("progress lines", () => {
  it("formats durations for people", () => {
    expect([formatDuration(840), formatDuration(2400), formatDuration(185_000)]).toEqual(["840ms", "2.4s", "3m05s"])
  })

  it("masks keys, bearer tokens and key=value secrets", () => {
    expect(redact("invalid key sk-abc123def456ghi")).toBe("invalid key sk-***")
    expect(redact("header Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x")).not.toContain("eyJhbGciOiJIUzI1NiJ9")
    expect(redact('{"api_key": "hunter22hunter"}')).toBe('{"api_key": "***"}')
    expect(redact("nothing to hide here")).toBe("nothing to hide here")
  })

  it("shows visits, fallbacks, waits and failures without outputs or decisions", () => {
    const error = {
      _tag: "ModelError",
      step: "answer",
      provider: "openai",
      model: "gpt",
      reason: "authentication",
      retryable: false,
      message: "bad key sk-1234567890abcdef",
    } as const
    expect(formatEvent({ type: "step.started", runId: "r", step: "draft", visit: 3, at: 0 })).toBe("→ draft (visit 3)")
    expect(formatEvent({ type: "model.fallback", runId: "r", step: "answer", visit: 1, from: "fast", to: "smart", error, at: 0 })).toBe(
      "⇢ answer falls back from model fast to smart: ModelError (authentication): bad key sk-***",
    )
    expect(formatEvent({ type: "human.waiting", runId: "r", step: "review", visit: 1, deadline: Date.UTC(2030, 0, 1), prompt: "secret text", at: 0 })).toBe(
      "⏸ review waits for a human decision until 2030-01-01T00:00:00.000Z",
    )
    expect(formatEvent({ type: "human.decided", runId: "r", step: "review", visit: 1, decision: { password: "x" }, at: 0 })).toBe("✓ review decided")
    expect(formatEvent({ type: "route.taken", runId: "r", from: "draft", to: "draft", at: 0 })).toBeUndefined()
    expect(formatEvent({ type: "step.finished", runId: "r", step: "a", visit: 1, output: "private", next: "done", attempts: 1, durationMs: 12, at: 0 })).toBe(
      "✓ a 12ms",
    )
  })

  it("says which rule stopped a run", () => {
    expect(
      formatResult({
        status: "stopped",
        runId: "r",
        steps: {},
        durationMs: 3,
        usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 },
        stoppedBy: { step: "draft", rule: "maxVisits(3)" },
      }),
    ).toBe("stopped at draft by maxVisits(3)")
  })

  it("gives a worker one line per run: its id and how it ended, without outputs or secrets", () => {
    const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 }
    expect(formatOutcome({ status: "done", runId: "r1", step: "confirm", output: { card: "4242" }, steps: {}, durationMs: 2400, usage })).toBe(
      "r1 done: output of confirm (2.4s)",
    )
    expect(
      formatOutcome({
        status: "failed",
        runId: "r2",
        steps: {},
        durationMs: 5,
        usage,
        error: { _tag: "StepCodeError", step: "charge", retryable: false, message: "api_key=sk-1234567890abcdef" },
      }),
    ).toBe("r2 failed at charge: StepCodeError: api_key=*** (5ms)")
    expect(formatOutcome({ status: "awaiting-human", runId: "r3", step: "review", steps: {}, durationMs: 1, usage, deadline: null })).toBe(
      "r3 awaiting a human decision on review (1ms)",
    )
  })
})
