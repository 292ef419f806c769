import type { UsageTotals } from "./events.ts"
import type { JournalEntry } from "./journal.ts"

/** No calls yet. */
export const emptyUsage: UsageTotals = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 }

/** Sums two usage totals. */
export const addUsage = (a: UsageTotals, b: UsageTotals): UsageTotals => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  costUsd: Math.round((a.costUsd + b.costUsd) * 1e9) / 1e9,
  calls: a.calls + b.calls,
  unpricedCalls: a.unpricedCalls + b.unpricedCalls,
})

/** The usage a run's journal records so far (for a run that continues after a pause). */
export const usageOfJournal = (entries: readonly JournalEntry[]): UsageTotals =>
  entries.reduce(
    (total, entry) => ((entry.type === "step.finished" || entry.type === "step.failed") && entry.usage !== undefined ? addUsage(total, entry.usage) : total),
    emptyUsage,
  )
