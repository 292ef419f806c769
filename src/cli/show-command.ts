// `switchboard show <runId>`: a run's step-by-step timeline, read from its journal.
import type { ErrorEvidence, RunError } from "../contract/errors.ts"
import type { JournalEntry } from "../contract/journal.ts"
import { checkJournal } from "../contract/journal-check.ts"
import type { Message } from "../contract/model.ts"
import { messagesOfCall } from "../contract/model-calls.ts"
import { redactor } from "../contract/redaction.ts"
import { type RunTrace, type StepVisit, traceOf } from "../observe/diagram/run-trace.ts"
import { exitCodes, type Output, requireDurable, withJournal } from "./commands.ts"
import { mask } from "./journal-option.ts"
import { UsageError } from "./load-pipeline.ts"
import { formatDuration, redact } from "./progress.ts"

/** Options of `switchboard show`. */
export interface ShowOptions {
  readonly journal?: string
  readonly json?: boolean
  /**
   * Also print prompts, responses, tool arguments and results, step outputs and decisions
   * (truncated), and what a failure kept of the thrown error: its name, stack, fields and causes.
   */
  readonly full?: boolean
}

/** How many characters of a prompt, response or output `--full` prints. */
export const fullLimit = 500

/**
 * `switchboard show <runId>`: prints the run's timeline (or, with `--json`, its trace and raw
 * journal entries). An unknown run is a usage error (exit 2), and so is a corrupt journal (a
 * `CorruptJournalError` naming the run and the seq).
 *
 * @example
 * process.exitCode = await showCommand("run-1", { journal: "sqlite:runs.db" }, output)
 */
export const showCommand = async (runId: string, options: ShowOptions, output: Output): Promise<number> => {
  requireDurable("show", options.journal)
  return withJournal(options.journal, async ({ journal, durable }) => {
    // A corrupt journal is refused in one line (exit 2), not drawn as a timeline that makes no sense.
    // Shown as observers see a run: fields named like a secret are masked in inputs and outputs too.
    const show = redactor(undefined)
    const entries = checkJournal(runId, await journal.read(runId)).map((entry) => ({ ...show.full(entry), seq: entry.seq }) as JournalEntry)
    if (entries.length === 0) throw new UsageError(`run ${runId} is not in the journal ${mask(durable ?? "")}`)
    if (options.json === true) {
      const trace = traceOf(entries)
      output.out(JSON.stringify({ trace: { ...trace, visited: [...trace.visited] }, entries }, null, 2))
    } else {
      for (const line of formatTimeline(entries, { full: options.full === true })) output.out(line)
    }
    return exitCodes.done
  })
}

/**
 * The timeline of a run as lines: a header, then each step visit (start offset, duration,
 * attempts, tokens, cost, where it went) with its retries, model and tool calls, repairs and
 * human waits, then how the run ended. Prompts, responses and outputs only with `full`.
 *
 * @example
 * for (const line of formatTimeline(await journal.read(runId), { full: false })) console.log(line)
 */
export const formatTimeline = (entries: readonly JournalEntry[], options: { readonly full: boolean }): string[] => {
  const ordered = [...entries].sort((left, right) => left.seq - right.seq)
  const trace = traceOf(ordered)
  const started = ordered.find((entry) => entry.type === "run.started")
  const startedAt = started?.at ?? ordered[0]?.at ?? 0
  const lines = [header(trace, started, ordered)]
  if (options.full && started !== undefined) lines.push(`  input: ${excerpt(started.input)}`)
  const threadLine = threadSummary(ordered)
  if (threadLine !== undefined) lines.push(threadLine)
  for (const visit of trace.visits) {
    const mine = ordered.filter((entry) => "visit" in entry && entry.step === visit.step && entry.visit === visit.visit)
    lines.push(visitLine(visit, mine))
    for (const entry of mine) lines.push(...detailLines(entry, startedAt, options.full, ordered))
  }
  lines.push(ending(trace, ordered))
  if (options.full) lines.push(...endingEvidence(ordered))
  return lines
}

const header = (trace: RunTrace, started: JournalEntry | undefined, entries: readonly JournalEntry[]): string => {
  const pipeline = started?.type === "run.started" ? started.pipeline : "(unknown pipeline)"
  const when = started === undefined ? [] : [`started ${new Date(started.at).toISOString()}`]
  const lineage =
    started?.type === "run.started" && started.forkedFrom !== undefined ? [`forked from ${started.forkedFrom.runId} at seq ${started.forkedFrom.seq}`] : []
  const steps = trace.visits.reduce(
    (sum, visit) => ({ tokensIn: sum.tokensIn + visit.inputTokens, tokensOut: sum.tokensOut + visit.outputTokens, cost: sum.cost + visit.costUsd }),
    { tokensIn: 0, tokensOut: 0, cost: 0 },
  )
  const unpriced = unpricedCalls(entries)
  const wall = wallClock(entries)
  const duration = trace.status === undefined || wall === undefined ? "" : ` in ${formatDuration(wall)}`
  const usage = steps.tokensIn + steps.tokensOut > 0 || unpriced > 0 ? [tokens(steps.tokensIn, steps.tokensOut), cost(steps.cost, unpriced)] : []
  return [`run ${trace.runId ?? "?"}`, pipeline, `${statusOf(trace)}${duration}`, ...usage, ...when, ...lineage].join(" · ")
}

// No `run.finished` yet: a run whose last visit waits for a person is awaiting one, not running.
const statusOf = (trace: RunTrace): string =>
  trace.status ?? (trace.visits.at(-1)?.status === "waiting" ? "awaiting-human" : "running (or its process died: resume it)")

// From `run.started` to `run.finished` (or the last entry): waits and every process that ran it included.
const wallClock = (entries: readonly JournalEntry[]): number | undefined => {
  const started = entries.find((entry) => entry.type === "run.started")
  const last = entries.findLast((entry) => entry.type === "run.finished") ?? entries.at(-1)
  return started === undefined || last === undefined ? undefined : last.at - started.at
}

// Calls made to a model with no price: their cost is unknown, never $0.
const unpricedCalls = (entries: readonly JournalEntry[]): number =>
  entries.reduce(
    (sum, entry) => sum + ((entry.type === "step.finished" || entry.type === "step.failed") && entry.usage !== undefined ? entry.usage.unpricedCalls : 0),
    0,
  )

const visitLine = (visit: StepVisit, entries: readonly JournalEntry[]): string => {
  const name = `${visit.step}${visit.visit > 1 ? ` #${visit.visit}` : ""}`
  const waited = entries.some((entry) => entry.type === "human.waiting")
  // An agent's step counts its model turns as attempts; only a retried visit had more than one attempt.
  const turns = entries.filter((entry) => entry.type === "agent.turned").length
  const attempts = turns > 0 ? 1 + entries.filter((entry) => entry.type === "step.retried").length : visit.attempts
  const unpriced = unpricedCalls(entries)
  const took = visit.durationMs === undefined ? visit.status : waited ? `waited ${formatDuration(visit.durationMs)}` : formatDuration(visit.durationMs)
  const parts = [
    took,
    ...(turns > 0 ? [`${turns} turn${turns === 1 ? "" : "s"}`] : []),
    ...(attempts > 1 ? [`${attempts} attempts`] : []),
    ...(visit.inputTokens + visit.outputTokens > 0 || unpriced > 0 ? [tokens(visit.inputTokens, visit.outputTokens), cost(visit.costUsd, unpriced)] : []),
    ...(visit.status === "failed" ? ["failed"] : visit.status === "decided" || visit.status === "expired" ? [visit.status] : []),
  ]
  const next = visit.next === undefined ? "" : `  → ${visit.next}`
  return `${offset(visit.startMs)}  ${name}  ${parts.join(", ")}${next}`
}

// Lines under a visit, each indented past the offset column.
// `entries`: the run's, in order; an agent's journaled model call is rebuilt from them.
const detailLines = (entry: JournalEntry, startedAt: number, full: boolean, entries: readonly JournalEntry[]): string[] => {
  const indent = "           "
  switch (entry.type) {
    case "step.started": {
      // A `retry` began the visit again: its earlier attempt's lines are above this one.
      const retried = entries.findLast((other) => other.type === "run.retried" && other.seq < entry.seq)
      if (retried?.type !== "run.retried" || !retried.steps.includes(`${entry.step}#${entry.visit}`)) return []
      return [`${indent}↻ retry ${retried.retry} at ${offset(retried.at - startedAt).trim()}: the visit runs again`]
    }
    case "step.retried":
      return [`${indent}↻ attempt ${entry.attempt} failed: ${describe(entry.error)}; retried in ${formatDuration(entry.delayMs)}`]
    case "model.called": {
      const finish = entry.response?.finishReason === undefined ? "" : `, finish ${entry.response.finishReason}`
      const usage = entry.usage === undefined ? "" : `, ${tokens(entry.usage.inputTokens, entry.usage.outputTokens)}`
      const failure = entry.error === undefined ? "" : `, error ${describe(entry.error)}`
      // A cached answer made no call; a queued call waited for its model's shared limits first.
      const cached = entry.cached === true ? " (cached, no call)" : ""
      const queued = entry.queuedMs === undefined ? "" : `, queued ${formatDuration(entry.queuedMs)}`
      const lines = [`${indent}model ${entry.provider}/${entry.model}${cached} ${formatDuration(entry.durationMs)}${queued}${usage}${finish}${failure}`]
      if (full) {
        for (const message of messagesOfCall(entries, entry)) lines.push(`${indent}  ${message.role}: ${excerpt(contentOf(message))}`)
        if (entry.response !== undefined) lines.push(`${indent}  response: ${excerpt(entry.response.text)}`)
      }
      return lines
    }
    case "tool.called": {
      const failure = entry.error === undefined ? "" : `, error ${describe(entry.error)}`
      const lines = [`${indent}tool ${entry.tool} ${formatDuration(entry.durationMs)}${failure}`]
      if (full) {
        lines.push(`${indent}  args: ${excerpt(entry.args)}`)
        if (entry.error === undefined) lines.push(`${indent}  result: ${excerpt(entry.result)}`)
      }
      return lines
    }
    case "model.repair":
      return [`${indent}repair ${entry.repair}: ${entry.issues.map((issue) => `${issue.path || "(root)"}: ${issue.message}`).join("; ")}`]
    case "model.fallback":
      return [`${indent}⇢ fell back from ${entry.from} to ${entry.to}: ${describe(entry.error)}`]
    case "human.waiting": {
      const deadline = entry.deadline === undefined ? "" : ` until ${new Date(entry.deadline).toISOString()}`
      return [
        `${indent}⏸ waits for a human decision${deadline}`,
        ...(full && entry.prompt !== undefined ? [`${indent}  prompt: ${excerpt(entry.prompt)}`] : []),
      ]
    }
    case "human.decided":
      return [`${indent}✓ decided at ${offset(entry.at - startedAt).trim()}${full ? `: ${excerpt(entry.decision)}` : ""}`]
    case "human.expired":
      return [`${indent}⌛ expired at ${offset(entry.at - startedAt).trim()} without a decision`]
    case "step.finished":
      return full ? [`${indent}output: ${excerpt(entry.output)}`] : []
    case "step.failed":
      return [`${indent}✗ ${describe(entry.error)}`, ...(full ? evidenceLines(entry.error, `${indent}  `) : [])]
    default:
      return []
  }
}

const ending = (trace: RunTrace, entries: readonly JournalEntry[]): string => {
  const finished = entries.findLast((entry) => entry.type === "run.finished")
  if (finished?.type !== "run.finished") {
    const waiting = trace.visits.findLast((visit) => visit.status === "waiting")
    return waiting === undefined ? "■ not finished (running, or its process died: resume it)" : `■ awaiting a human decision on ${waiting.step}`
  }
  const wall = wallClock(entries)
  const took = ` after ${formatDuration(wall ?? finished.durationMs)}`
  if (finished.status === "failed" && finished.error !== undefined) {
    const step = "step" in finished.error && finished.error.step !== undefined ? ` at ${finished.error.step}` : ""
    return `■ failed${step}${took}: ${describe(finished.error)}`
  }
  if (finished.status === "stopped" && finished.stoppedBy !== undefined) {
    return `■ stopped at ${finished.stoppedBy.step} by ${finished.stoppedBy.rule}${took}`
  }
  return `■ ${finished.status}${took}`
}

// Thread events belong to the run, not to a step visit: one line under the header.
const threadSummary = (entries: readonly JournalEntry[]): string | undefined => {
  const loaded = entries.find((entry) => entry.type === "thread.loaded")
  if (loaded?.type !== "thread.loaded") return undefined
  const saved = entries.find((entry) => entry.type === "thread.saved")
  const facts = Object.keys(loaded.facts).length
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`
  const savedPart =
    saved?.type === "thread.saved"
      ? `; saved ${plural(saved.messages, "message")}${saved.facts.length === 0 ? "" : `, facts ${saved.facts.join(", ")}`}`
      : "; not saved"
  return `  thread ${loaded.threadId}: loaded ${plural(loaded.messages.length, "message")}, ${plural(facts, "fact")}${savedPart}`
}

// The run's error, when no failed step already printed it (a machine error, a thread, a cancellation).
const endingEvidence = (entries: readonly JournalEntry[]): string[] => {
  const finished = entries.findLast((entry) => entry.type === "run.finished")
  if (finished?.type !== "run.finished" || finished.error === undefined) return []
  const printed = JSON.stringify(finished.error)
  if (entries.some((entry) => entry.type === "step.failed" && JSON.stringify(entry.error) === printed)) return []
  return evidenceLines(finished.error, "  ")
}

/** What an error kept of the thrown error, one fact a line: name, fields, stack frames, then each cause. */
const evidenceLines = (error: ErrorEvidence, indent: string): string[] => {
  const lines = [...(error.name === undefined ? [] : [`${indent}name: ${error.name}`]), ...linkLines(error, indent, [])]
  let outer = stackFrames(error.stack)
  let depth = 0
  for (let link = error.cause; link !== undefined; link = link.cause) {
    const causeIndent = `${indent}${"  ".repeat(depth)}`
    lines.push(
      `${causeIndent}caused by ${link.name === undefined ? "" : `${link.name}: `}${redact(link.message)}`,
      ...linkLines(link, `${causeIndent}  `, outer),
    )
    outer = stackFrames(link.stack)
    depth += 1
  }
  return lines
}

// A cause made in the same call as its error shares its outer frames: those are printed once.
const linkLines = (link: ErrorEvidence, indent: string, outerFrames: readonly string[]): string[] => {
  const frames = stackFrames(link.stack)
  const sameFrom = (end: number) => frames[frames.length - 1 - end] === outerFrames[outerFrames.length - 1 - end]
  let shared = 0
  while (shared < frames.length - 1 && shared < outerFrames.length && sameFrom(shared)) shared += 1
  return [
    ...(link.fields === undefined ? [] : [`${indent}fields: ${excerpt(link.fields)}`]),
    ...frames.slice(0, frames.length - shared).map((frame) => `${indent}${redact(frame)}`),
    ...(shared === 0 ? [] : [`${indent}… ${shared} more frame${shared === 1 ? "" : "s"} as above`]),
  ]
}

// A V8 stack repeats the message on its first lines: the frames are what it adds.
const stackFrames = (stack: string | undefined): string[] => {
  if (stack === undefined) return []
  const lines = stack
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
  const frames = lines.filter((line) => line.startsWith("at "))
  return frames.length > 0 ? frames : lines
}

const describe = (error: RunError): string => {
  const reason = "reason" in error ? ` (${error.reason})` : ""
  return `${error._tag}${reason}: ${redact(error.message)}`
}

const contentOf = (message: Message): string =>
  message.role === "assistant" && message.content === "" && message.toolCalls !== undefined ? JSON.stringify(message.toolCalls) : message.content

const excerpt = (value: unknown): string => {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value))
  const flat = redact(text).replace(/\s*\n\s*/g, " ⏎ ")
  return flat.length > fullLimit ? `${flat.slice(0, fullLimit)}… (${flat.length - fullLimit} more characters)` : flat
}

const offset = (ms: number): string => `+${formatDuration(ms)}`.padStart(9)
const tokens = (input: number, output: number): string => `${input} in / ${output} out tokens`
// The one way show writes money: dollars to 4 decimals; calls without a price are named, not counted as $0.
const cost = (usd: number, unpriced = 0): string => {
  const calls = `${unpriced} unpriced call${unpriced === 1 ? "" : "s"}`
  if (unpriced === 0) return `$${usd.toFixed(4)}`
  return usd === 0 ? `cost unpriced (${calls})` : `$${usd.toFixed(4)} + ${calls}`
}
