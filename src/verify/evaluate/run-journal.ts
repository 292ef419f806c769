import type { RunError } from "../../contract/errors.ts"
import type { PipelineStructure } from "../../contract/events.ts"
import type { JournalEntry } from "../../contract/journal.ts"

/**
 * One visit of one step as a run's journal tells it: what came out (an output, a decision, an
 * error, an expiry, or nothing yet) and where the run went next.
 *
 * @example
 * const describeVisit = (visit: JournaledVisit) => `${visit.step}#${visit.visit} → ${visit.next ?? "?"}`
 */
export interface JournaledVisit {
  readonly step: string
  readonly visit: number
  readonly outcome: "finished" | "failed" | "decided" | "expired" | "waiting" | "running"
  /** The step's output, or the human decision. */
  readonly output?: unknown
  readonly error?: RunError
  /** The state the run entered after this visit (a step, `done`, `failed` or `stopped`). */
  readonly next?: string
}

/**
 * Every step visit of a run, in the order they started, from its journal entries.
 *
 * @example
 * const steps = visitsOf(await journal.read(runId)).map((visit) => visit.step)
 */
export const visitsOf = (entries: readonly JournalEntry[]): JournaledVisit[] => {
  const visits: Array<{ -readonly [K in keyof JournaledVisit]: JournaledVisit[K] }> = []
  const find = (step: string, visit: number) => visits.find((candidate) => candidate.step === step && candidate.visit === visit)
  const open = (step: string, visit: number) =>
    find(step, visit) ?? (visits.push({ step, visit, outcome: "running" }), visits.at(-1) as (typeof visits)[number])
  for (const entry of [...entries].sort((left, right) => left.seq - right.seq)) {
    switch (entry.type) {
      case "step.started":
        open(entry.step, entry.visit)
        break
      case "human.waiting":
        open(entry.step, entry.visit).outcome = "waiting"
        break
      case "step.finished":
        Object.assign(open(entry.step, entry.visit), { outcome: "finished", output: entry.output })
        break
      case "step.failed":
        Object.assign(open(entry.step, entry.visit), { outcome: "failed", error: entry.error })
        break
      case "human.decided":
        Object.assign(open(entry.step, entry.visit), { outcome: "decided", output: entry.decision })
        break
      case "human.expired":
        open(entry.step, entry.visit).outcome = "expired"
        break
      case "route.taken": {
        // The route out of a step is the one taken from its latest visit.
        const last = visits.findLast((candidate) => candidate.step === entry.from)
        if (last !== undefined && last.next === undefined) last.next = entry.to
        break
      }
    }
  }
  return visits
}

/**
 * The steps a run went through, in order (one entry per visit, final states left out).
 *
 * @example
 * pathOf(entries) // ["classify", "lookupOrder", "refund", "answer"]
 */
export const pathOf = (entries: readonly JournalEntry[]): string[] => visitsOf(entries).map((visit) => visit.step)

/** One transition of a pipeline's graph: from a step to a step or a final state. */
export interface Transition {
  readonly from: string
  readonly to: string
}

/**
 * The transitions a pipeline declares, from the structure journaled with `run.started`: each
 * step's targets, its `error` and `timeout` edges, and the `stopped` edge of every entry a stop
 * rule guards.
 *
 * @example
 * const declared = declaredTransitions(structure) // [{ from: "classify", to: "review" }, ...]
 */
export const declaredTransitions = (structure: PipelineStructure): Transition[] => {
  const found = new Map<string, Transition>()
  const add = (from: string, to: string) => found.set(`${from}→${to}`, { from, to })
  const byName = new Map(structure.steps.map((step) => [step.name, step]))
  for (const step of structure.steps) {
    for (const to of step.next) add(step.name, to)
    if (step.error !== undefined) add(step.name, step.error)
    if (step.timeout !== undefined) add(step.name, step.timeout)
    for (const to of [...step.next, ...(step.error === undefined ? [] : [step.error]), ...(step.timeout === undefined ? [] : [step.timeout])]) {
      const guarded = byName.get(to)
      if (guarded?.stop !== undefined && guarded.stop.length > 0) add(step.name, guarded.stopped ?? "stopped")
    }
  }
  return [...found.values()]
}

/**
 * The transitions a run took, in order, from its `route.taken` events.
 *
 * @example
 * takenTransitions(entries) // [{ from: "classify", to: "answer" }, { from: "answer", to: "done" }]
 */
export const takenTransitions = (entries: readonly JournalEntry[]): Transition[] => {
  const ordered = [...entries].sort((left, right) => left.seq - right.seq)
  return ordered.flatMap((entry) => (entry.type === "route.taken" ? [{ from: entry.from, to: entry.to }] : []))
}

/** The graph journaled with the run's `run.started`, if any. */
export const structureOfRun = (entries: readonly JournalEntry[]): PipelineStructure | undefined => {
  const started = entries.find((entry) => entry.type === "run.started")
  return started?.type === "run.started" ? started.structure : undefined
}
