import type { EvalReport } from "./evaluate.ts"

/**
 * A scorer whose mean dropped by more than the threshold since the baseline (or that the new
 * report no longer scores at all: `current` is then `null`).
 *
 * @example
 * const line = (regression: Regression) => `${regression.scorer}: ${regression.baseline} → ${regression.current}`
 */
export interface Regression {
  readonly scorer: string
  readonly baseline: number
  readonly current: number | null
  readonly delta: number | null
}

/**
 * Compares a report's per-scorer means with a baseline report: each scorer whose mean fell by
 * more than `threshold` (absolute, default 0.02) is a regression. Scorers new in `report` are
 * not regressions; scorers the baseline scored and `report` does not are.
 *
 * @example
 * const regressions = compareToBaseline(report, JSON.parse(readFileSync("baseline.json", "utf8")), { threshold: 0.02 })
 * if (regressions.length > 0) process.exitCode = 1
 */
export const compareToBaseline = (report: EvalReport, baseline: EvalReport, options: { readonly threshold?: number } = {}): Regression[] => {
  const threshold = options.threshold ?? 0.02
  const regressions: Regression[] = []
  for (const [scorer, before] of Object.entries(baseline.scorers ?? {})) {
    if (before.mean === null) continue
    const now = report.scorers[scorer]?.mean ?? null
    if (now === null) regressions.push({ scorer, baseline: before.mean, current: null, delta: null })
    else if (before.mean - now > threshold + 1e-9)
      regressions.push({ scorer, baseline: before.mean, current: now, delta: Math.round((now - before.mean) * 1e6) / 1e6 })
  }
  return regressions
}
