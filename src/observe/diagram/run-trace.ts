import type { RunError } from "../../contract/errors.ts"
import type { JournalEntry } from "../../contract/journal.ts"
import type { Chart, ChartEdgeKind } from "./chart.ts"

/** How one visit of a step ended, or that it has not. */
export type VisitStatus = "finished" | "failed" | "decided" | "expired" | "waiting" | "running"

/**
 * One visit of one step in a run, as the timeline shows it.
 *
 * @example
 * const slow = (visit: StepVisit) => (visit.durationMs ?? 0) > 10_000
 */
export interface StepVisit {
  readonly step: string
  readonly visit: number
  /** Milliseconds from the run's start to this visit's start. */
  readonly startMs: number
  /** Milliseconds the visit took; `undefined` while it runs or waits. */
  readonly durationMs: number | undefined
  readonly attempts: number
  readonly status: VisitStatus
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly error?: RunError
  /** Where the run went next (after a stop rule, where it was diverted to). */
  readonly next?: string
}

/**
 * One transition a run took, with what ended the step it left: it finished (and chose `chose`),
 * failed, was decided or expired. A step that chose one target and went to another was stopped.
 *
 * @example
 * const stops = (trace: RunTrace) => trace.transitions.filter((move) => move.via === "finished" && move.to !== move.chose)
 */
export interface TakenTransition {
  readonly from: string
  readonly to: string
  readonly via: "finished" | "failed" | "decided" | "expired" | "started"
  readonly chose?: string
}

/**
 * What a run's journal says for a chart: every visit in order, the states and transitions
 * taken, and how the run ended.
 *
 * @example
 * const path = (trace: RunTrace) => trace.visits.map((visit) => visit.step).join(" → ")
 */
export interface RunTrace {
  readonly runId: string | undefined
  readonly visits: readonly StepVisit[]
  /** States entered, final ones included. */
  readonly visited: ReadonlySet<string>
  /** Every transition taken, in order. */
  readonly transitions: readonly TakenTransition[]
  readonly status: string | undefined
  readonly durationMs: number | undefined
  readonly stoppedBy?: { readonly step: string; readonly rule: string }
}

const forward: ReadonlySet<ChartEdgeKind> = new Set(["next", "route", "decision"])

/**
 * How many times the run took each edge of a chart (same order as `chart.edges`). Parallel edges
 * (a route and an error edge to the same step) are told apart by how the step before ended.
 *
 * @example
 * const taken = chart.edges.filter((_, index) => takenCounts(chart, trace)[index]! > 0)
 */
export const takenCounts = (chart: Chart, trace: RunTrace): number[] => {
  const counts = chart.edges.map(() => 0)
  const find = (from: string, to: string, kinds: ReadonlySet<ChartEdgeKind>) =>
    chart.edges.findIndex((edge) => edge.from === from && edge.to === to && kinds.has(edge.kind))
  for (const move of trace.transitions) {
    const expected: ReadonlySet<ChartEdgeKind> =
      move.via === "failed"
        ? new Set(["error"])
        : move.via === "expired"
          ? new Set(["timeout"])
          : move.via === "finished" && move.to !== move.chose
            ? new Set(["stopped"])
            : forward
    let index = find(move.from, move.to, expected)
    if (index === -1) index = find(move.from, move.to, new Set(["stopped"]))
    if (index !== -1) counts[index] = (counts[index] as number) + 1
  }
  return counts
}

/**
 * Reads a run's journal entries (in `seq` order) into a {@link RunTrace}.
 *
 * @example
 * const trace = traceOf(await journal.read(runId))
 */
export const traceOf = (entries: readonly JournalEntry[]): RunTrace => {
  const ordered = [...entries].sort((left, right) => left.seq - right.seq)
  const startedAt = ordered.find((entry) => entry.type === "run.started")?.at ?? ordered[0]?.at ?? 0
  const visits = new Map<string, StepVisit>()
  const retries = new Map<string, number>()
  const visited = new Set<string>()
  const transitions: TakenTransition[] = []
  const endings = new Map<string, Omit<TakenTransition, "from" | "to">>()
  let status: string | undefined
  let durationMs: number | undefined
  let stoppedBy: RunTrace["stoppedBy"]
  const open = (step: string, visit: number, at: number, state: VisitStatus) => {
    const key = `${step}#${visit}`
    if (!visits.has(key)) {
      visits.set(key, { step, visit, startMs: at - startedAt, durationMs: undefined, attempts: 1, status: state, inputTokens: 0, outputTokens: 0, costUsd: 0 })
    }
    visited.add(step)
    return key
  }
  const close = (key: string, at: number, changes: Partial<StepVisit>) => {
    const visit = visits.get(key) as StepVisit
    visits.set(key, { ...visit, durationMs: at - startedAt - visit.startMs, ...changes })
  }
  for (const entry of ordered) {
    switch (entry.type) {
      case "step.started":
        open(entry.step, entry.visit, entry.at, "running")
        endings.set(entry.step, { via: "started" })
        break
      case "human.waiting":
        open(entry.step, entry.visit, entry.at, "waiting")
        break
      case "step.retried":
        retries.set(`${entry.step}#${entry.visit}`, entry.attempt + 1)
        break
      case "step.finished":
      case "step.failed": {
        const key = open(entry.step, entry.visit, entry.at - entry.durationMs, "running")
        const usage = entry.usage
        close(key, entry.at, {
          durationMs: entry.durationMs,
          attempts: entry.attempts,
          status: entry.type === "step.finished" ? "finished" : "failed",
          inputTokens: usage?.inputTokens ?? 0,
          outputTokens: usage?.outputTokens ?? 0,
          costUsd: usage?.costUsd ?? 0,
          ...(entry.type === "step.finished" ? { next: entry.next } : { error: entry.error }),
        })
        endings.set(entry.step, entry.type === "step.finished" ? { via: "finished", chose: entry.next } : { via: "failed" })
        break
      }
      case "human.decided":
        close(open(entry.step, entry.visit, entry.at, "waiting"), entry.at, { status: "decided" })
        endings.set(entry.step, { via: "decided" })
        break
      case "human.expired":
        close(open(entry.step, entry.visit, entry.at, "waiting"), entry.at, { status: "expired" })
        endings.set(entry.step, { via: "expired" })
        break
      case "route.taken": {
        transitions.push({ from: entry.from, to: entry.to, ...(endings.get(entry.from) ?? { via: "started" }) })
        const left = [...visits.values()].filter((visit) => visit.step === entry.from).at(-1)
        if (left !== undefined) visits.set(`${left.step}#${left.visit}`, { ...left, next: entry.to })
        visited.add(entry.from)
        visited.add(entry.to)
        break
      }
      case "run.finished":
        status = entry.status
        durationMs = entry.durationMs
        visited.add(entry.status)
        if (entry.stoppedBy !== undefined) stoppedBy = entry.stoppedBy
        break
    }
  }
  // A retry announces the next attempt: a visit still running shows how far it got.
  const withRetries = [...visits.entries()].map(([key, visit]) =>
    visit.durationMs === undefined && retries.has(key) ? { ...visit, attempts: retries.get(key) as number } : visit,
  )
  const runId = ordered[0]?.runId
  return {
    runId,
    visits: withRetries.sort((left, right) => left.startMs - right.startMs),
    visited,
    transitions,
    status,
    durationMs,
    ...(stoppedBy === undefined ? {} : { stoppedBy }),
  }
}
