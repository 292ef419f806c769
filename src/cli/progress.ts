import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import { redactSecrets } from "../contract/redaction.ts"
import type { RunResult } from "../run/result.ts"
import type { Output } from "./commands.ts"

/**
 * Masks what looks like a credential in a message (the project's one masker).
 *
 * @example
 * redact("401: invalid key sk-abc123def456") // "401: invalid key sk-***"
 */
export const redact = redactSecrets

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
    case "map.listed":
      return `≡ ${event.step}: ${plural(event.count, "item")}`
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
      const output = typeof result.output === "string" ? result.output : (JSON.stringify(result.output, null, 2) ?? "(no output)")
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

/**
 * What the live terminal view knows of a run: the step in flight, its attempt, and counters.
 * `step` is `undefined` when nothing runs (before the first step, while a human decides, at the end).
 *
 * @example
 * const idle: LiveState = initialLiveState
 */
export interface LiveState {
  readonly step: string | undefined
  readonly visit: number
  readonly attempt: number
  /** Since this run (or this resume) began: step starts, retries and the usage of finished steps. */
  readonly steps: number
  readonly retries: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  /** When the view saw its first event, for the elapsed time. */
  readonly since: number | undefined
}

/** A live state before any event. */
export const initialLiveState: LiveState = {
  step: undefined,
  visit: 0,
  attempt: 0,
  steps: 0,
  retries: 0,
  inputTokens: 0,
  outputTokens: 0,
  costUsd: 0,
  since: undefined,
}

/**
 * The live state after one event (pure).
 *
 * @example
 * const state = advanceLive(initialLiveState, { type: "step.started", runId: "r", step: "draft", visit: 1, at: 0 })
 */
export const advanceLive = (state: LiveState, event: RunEvent): LiveState => {
  const seen = { ...state, since: state.since ?? event.at }
  switch (event.type) {
    case "step.started":
      return { ...seen, step: event.step, visit: event.visit, attempt: 1, steps: seen.steps + 1 }
    case "step.retried":
      return { ...seen, step: event.step, visit: event.visit, attempt: event.attempt + 1, retries: seen.retries + 1 }
    case "step.finished":
    case "step.failed": {
      const usage = event.usage
      return {
        ...seen,
        step: undefined,
        inputTokens: seen.inputTokens + (usage?.inputTokens ?? 0),
        outputTokens: seen.outputTokens + (usage?.outputTokens ?? 0),
        costUsd: seen.costUsd + (usage?.costUsd ?? 0),
      }
    }
    case "human.waiting":
    case "run.finished":
      return { ...seen, step: undefined }
    default:
      return seen
  }
}

/**
 * The status line under the event lines, cut to `columns - 1` characters so the terminal never
 * wraps it (a wrapped line could not be cleared with `\r`); `undefined` when nothing runs.
 *
 * @example
 * statusLine(state, Date.now(), process.stdout.columns ?? 80) // "● draft attempt 2 · 1 retry · 120 in / 40 out tokens · $0.0012 · 3.1s"
 */
export const statusLine = (state: LiveState, now: number, columns: number): string | undefined => {
  if (state.step === undefined) return undefined
  const parts = [
    `● ${state.step}${visitSuffix(state.visit)}${state.attempt > 1 ? ` attempt ${state.attempt}` : ""}`,
    ...(state.retries > 0 ? [`${state.retries} ${state.retries === 1 ? "retry" : "retries"}`] : []),
    `${state.inputTokens} in / ${state.outputTokens} out tokens`,
    `$${state.costUsd.toFixed(4)}`,
    formatDuration(now - (state.since ?? now)),
  ]
  const line = parts.join(" · ")
  const room = Math.max(columns - 1, 10)
  return line.length > room ? `${line.slice(0, room - 1)}…` : line
}

/** Moves to the start of the line and erases it. */
export const eraseLine = "\r\u001b[2K"

/**
 * A live terminal view: event lines scroll as usual, one status line stays below them and is
 * redrawn in place. Every call produces one write (a frame), so a test can read the frames.
 *
 * @example
 * const view = liveView({ write: (text) => process.stdout.write(text), columns: () => process.stdout.columns ?? 80 })
 * view.event(event)
 */
export interface LiveView {
  /** Prints a run event (its progress line) and redraws the status line. */
  readonly event: (event: RunEvent) => void
  /** Prints a line above the status line (on `stream`, default the view's own). */
  readonly line: (text: string, write?: (text: string) => void) => void
  /** Redraws the status line (the elapsed time moves). */
  readonly tick: () => void
  /** Erases the status line and stops the refresh timer. */
  readonly close: () => void
}

/**
 * Creates a {@link LiveView}. With `refreshMs` (default 1000, 0 for none), the status line is
 * redrawn on a timer while a step runs; the timer never keeps the process alive.
 *
 * @example
 * const frames: string[] = []
 * const view = liveView({ write: (text) => frames.push(text), columns: () => 80, now: () => 0, refreshMs: 0 })
 */
export const liveView = (options: {
  readonly write: (text: string) => void
  readonly columns: () => number
  readonly now?: () => number
  readonly refreshMs?: number
}): LiveView => {
  const now = options.now ?? Date.now
  let state = initialLiveState
  let shown: string | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  // One frame: erase the status line if drawn, print the lines, draw the new status line.
  const draw = (lines: readonly string[], write = options.write) => {
    const status = statusLine(state, now(), options.columns())
    if (lines.length === 0 && status === shown) return
    const erase = shown === undefined ? "" : eraseLine
    if (write === options.write) write(`${erase}${lines.map((text) => `${text}\n`).join("")}${status ?? ""}`)
    else {
      // A line for another stream (stderr) goes between erasing and redrawing the status line.
      if (erase !== "") options.write(erase)
      write(lines.map((text) => `${text}\n`).join(""))
      if (status !== undefined) options.write(status)
    }
    shown = status
    const refreshMs = options.refreshMs ?? 1000
    if (status !== undefined && timer === undefined && refreshMs > 0) {
      timer = setInterval(() => draw([]), refreshMs)
      timer.unref()
    } else if (status === undefined && timer !== undefined) {
      clearInterval(timer)
      timer = undefined
    }
  }
  return {
    event: (event) => {
      state = advanceLive(state, event)
      const line = formatEvent(event)
      draw(line === undefined ? [] : [line])
    },
    line: (text, write) => draw([text], write),
    tick: () => draw([]),
    close: () => {
      state = { ...state, step: undefined }
      draw([])
    },
  }
}

/**
 * Whether progress should be the live view: stdout is a terminal, not CI, not a dumb terminal.
 *
 * @example
 * shouldBeLive({ isTTY: true }, { CI: "true" }) // false
 */
export const shouldBeLive = (stream: { readonly isTTY?: boolean }, environment: NodeJS.ProcessEnv): boolean => {
  const ci = environment.CI
  return stream.isTTY === true && (ci === undefined || ci === "" || ci === "0" || ci === "false") && environment.TERM !== "dumb"
}

/**
 * Where the CLI writes: in a terminal (not CI), run events go through a {@link liveView};
 * otherwise every line is written as it comes, one per event.
 *
 * @example
 * const output = terminalOutput(process.stdout, process.stderr, process.env)
 */
export const terminalOutput = (
  stdout: Pick<NodeJS.WriteStream, "write" | "isTTY" | "columns">,
  stderr: Pick<NodeJS.WriteStream, "write">,
  environment: NodeJS.ProcessEnv,
): Output => {
  const toError = (text: string) => void stderr.write(text)
  if (!shouldBeLive(stdout, environment)) {
    return { out: (line) => void stdout.write(`${line}\n`), error: (line) => toError(`${line}\n`) }
  }
  const view = liveView({ write: (text) => void stdout.write(text), columns: () => (stdout.columns > 0 ? stdout.columns : 80) })
  return { out: (line) => view.line(line), error: (line) => view.line(line, toError), event: view.event }
}
