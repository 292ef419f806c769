// What the studio shows of a run, computed from its journal entries alone (pure, no I/O).
import type { JournalEntry, RunSummary } from "../contract/journal.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { decisionSchemaOf as schemaOfDecision } from "../run/decisions.ts"
import { pendingOf } from "../run/pending-decisions.ts"

/**
 * One row of the runs list: the journal's summary plus what its entries say about time and spend.
 * `durationMs` is wall-clock, from the run's start to its end (or to now, for a run not ended),
 * waits included; `unpricedCalls` counts model calls with no known price (their cost is not in `costUsd`).
 *
 * @example
 * const label = (row: RunRow) => (row.unpricedCalls > 0 ? "unpriced" : `$${row.costUsd.toFixed(2)}`)
 */
export interface RunRow extends RunSummary {
  readonly startedAt: number | undefined
  readonly durationMs: number | undefined
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly unpricedCalls: number
}

/**
 * The runs-list row of a run.
 *
 * @example
 * const row = runRowOf(summary, await journal.read(summary.runId), Date.now())
 */
export const runRowOf = (summary: RunSummary, entries: readonly JournalEntry[], now: number): RunRow => {
  const started = entries.find((entry) => entry.type === "run.started")
  const finished = entries.findLast((entry) => entry.type === "run.finished")
  let inputTokens = 0
  let outputTokens = 0
  let costUsd = 0
  let unpricedCalls = 0
  // Each step's totals, as its visit ended (a step's usage covers all its attempts and calls).
  for (const entry of entries) {
    if ((entry.type !== "step.finished" && entry.type !== "step.failed") || entry.usage === undefined) continue
    inputTokens += entry.usage.inputTokens
    outputTokens += entry.usage.outputTokens
    costUsd += entry.usage.costUsd
    unpricedCalls += entry.usage.unpricedCalls
  }
  return {
    ...summary,
    startedAt: started?.at,
    durationMs:
      started === undefined
        ? undefined
        : (finished?.at ?? (summary.status === "running" || summary.status === "awaiting-human" ? now : summary.updatedAt)) - started.at,
    inputTokens,
    outputTokens,
    costUsd: Math.round(costUsd * 1e9) / 1e9,
    unpricedCalls,
  }
}

/**
 * A wait of a run on a person that has not been answered: the step (or decision address) it waits on.
 *
 * @example
 * const due = (wait: OpenWait) => wait.deadline !== undefined && wait.deadline < Date.now()
 */
export interface OpenWait {
  readonly runId: string
  readonly step: string
  readonly visit: number
  readonly prompt?: string
  readonly deadline?: number
  readonly since: number
}

/**
 * The waits of a run nobody has answered yet, by decision address (`review`, `brief.legal`,
 * `refunds[2]`): what the run layer's `pendingOf` reads from the journal, with when each began.
 *
 * @example
 * const waits = openWaitsOf(await journal.read(runId))
 */
export const openWaitsOf = (entries: readonly JournalEntry[]): OpenWait[] =>
  pendingOf(entries).map((wait) => {
    const began = entries.findLast((entry) => entry.type === "human.waiting" && entry.step === wait.path && entry.visit === wait.visit)
    return {
      runId: began?.runId ?? entries[0]?.runId ?? "",
      step: wait.path,
      visit: wait.visit,
      since: began?.at ?? 0,
      ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
      ...(wait.deadline === undefined ? {} : { deadline: wait.deadline }),
    }
  })

/**
 * The JSON Schema of the decision a step waits for (run/decisions.ts), `undefined` for a step that
 * takes none.
 *
 * @example
 * decisionSchemaOf(human({ decision: z.object({ approve: z.boolean() }) })) // { type: "object", properties: { approve: { type: "boolean" } }, ... }
 */
export const decisionSchemaOf = (step: AnyStep | undefined): Record<string, unknown> | undefined =>
  step?.kind === "human" || step?.kind === "agent" ? schemaOfDecision(step) : undefined
