import type { RunError } from "../errors.ts"
import type { RunEvent } from "../runtime/events.ts"
import type { RunResult } from "../runtime/result.ts"

// Provider errors can echo credentials (a key in a message, an Authorization header): mask them.
const secretPatterns: ReadonlyArray<[RegExp, string]> = [
  [/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "$1-***"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***"],
  [/\b(api[_-]?key|token|secret|password|authorization)(["']?\s*[:=]\s*["']?)[^\s"',;&()[\]{}]{4,}/gi, "$1$2***"],
]

/**
 * Masks what looks like a credential in a message.
 *
 * @example
 * redact("401: invalid key sk-abc123def456") // "401: invalid key sk-***"
 */
export const redact = (text: string): string => secretPatterns.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text)

/**
 * Formats a duration in milliseconds for people: `840ms`, `2.4s`, `3m05s`.
 *
 * @example
 * formatDuration(2400) // "2.4s"
 */
export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const seconds = Math.round(ms / 1000)
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`
}

const describeError = (error: RunError): string => {
  const reason = "reason" in error ? ` (${error.reason})` : ""
  return `${error._tag}${reason}: ${redact(error.message)}`
}

const visitSuffix = (visit: number) => (visit > 1 ? ` (visit ${visit})` : "")
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`

/**
 * One progress line for a run event, or `undefined` for events not worth a line. Lines name
 * steps, durations, attempts and routes; they never print inputs, outputs or decisions.
 *
 * @example
 * formatEvent({ type: "step.started", runId: "r1", step: "classify", visit: 1, at: 0 }) // "→ classify"
 */
export const formatEvent = (event: RunEvent): string | undefined => {
  switch (event.type) {
    case "run.started":
      return `▶ ${event.pipeline} (run ${event.runId})`
    case "step.started":
      return `→ ${event.step}${visitSuffix(event.visit)}`
    case "step.retried":
      return `↻ ${event.step} attempt ${event.attempt} failed, retrying in ${formatDuration(event.delayMs)}: ${describeError(event.error)}`
    case "model.fallback":
      return `⇢ ${event.step} falls back from model ${event.from} to ${event.to}: ${describeError(event.error)}`
    case "step.finished": {
      const attempts = event.attempts > 1 ? `, ${plural(event.attempts, "attempt")}` : ""
      const usage = event.usage === undefined ? "" : `, ${event.usage.inputTokens}+${event.usage.outputTokens} tokens`
      return `✓ ${event.step} ${formatDuration(event.durationMs)}${attempts}${usage}`
    }
    case "step.failed":
      return `✗ ${event.step} failed after ${plural(event.attempts, "attempt")}, ${formatDuration(event.durationMs)}: ${describeError(event.error)}`
    case "route.taken":
      // The first step's entry and a step's own retries are not routes anyone chose.
      return event.from === event.to ? undefined : `  ${event.from} ⇒ ${event.to}`
    case "human.waiting": {
      const deadline = event.deadline === undefined ? "" : ` until ${new Date(event.deadline).toISOString()}`
      return `⏸ ${event.step} waits for a human decision${deadline}`
    }
    case "human.decided":
      return `✓ ${event.step} decided`
    case "run.finished":
      return `■ ${event.status} in ${formatDuration(event.durationMs)}`
  }
}

/**
 * The closing lines for a run result: what it produced, why it failed or stopped, or how to
 * continue it.
 *
 * @example
 * formatResult({ status: "stopped", runId: "r1", steps: {}, durationMs: 3, stoppedBy: { step: "draft", rule: "maxVisits(3)" } })
 */
export const formatResult = (result: RunResult<Record<string, unknown>>, continueHint?: string): string => {
  switch (result.status) {
    case "done": {
      const output = typeof result.output === "string" ? result.output : JSON.stringify(result.output, null, 2) ?? "(no output)"
      return `done: output of ${String(result.step)}\n${output}`
    }
    case "failed":
      return `failed${"step" in result.error && result.error.step !== undefined ? ` at ${result.error.step}` : ""}: ${describeError(result.error)}`
    case "stopped":
      return `stopped at ${result.stoppedBy.step} by ${result.stoppedBy.rule}`
    case "awaiting-human": {
      const prompt = result.prompt === undefined ? "" : `\n${result.prompt}`
      return `awaiting a human decision on ${result.step} (run ${result.runId})${prompt}${continueHint === undefined ? "" : `\n${continueHint}`}`
    }
  }
}

/**
 * One line for a run a worker finished or paused: its id, how it ended and how long this part took.
 *
 * @example
 * formatOutcome({ status: "stopped", runId: "r1", steps: {}, durationMs: 3, stoppedBy: { step: "draft", rule: "maxVisits(3)" } }) // "r1 stopped at draft by maxVisits(3) (3ms)"
 */
export const formatOutcome = (result: RunResult<Record<string, unknown>>): string => {
  const took = ` (${formatDuration(result.durationMs)})`
  switch (result.status) {
    case "done":
      return `${result.runId} done: output of ${String(result.step)}${took}`
    case "failed":
      return `${result.runId} failed${"step" in result.error && result.error.step !== undefined ? ` at ${result.error.step}` : ""}: ${describeError(result.error)}${took}`
    case "stopped":
      return `${result.runId} stopped at ${result.stoppedBy.step} by ${result.stoppedBy.rule}${took}`
    case "awaiting-human":
      return `${result.runId} awaiting a human decision on ${result.step}${took}`
  }
}
