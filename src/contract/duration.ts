/**
 * A length of time: milliseconds as a number, or a string such as `"250ms"`, `"30s"`, `"5m"`, `"24h"`, `"2d"`.
 *
 * @example
 * const timeout: DurationInput = "30s"
 */
export type DurationInput = number | `${number}${"ms" | "s" | "m" | "h" | "d"}`

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * Converts a {@link DurationInput} to milliseconds, or throws a `RangeError` naming the bad value.
 *
 * @example
 * toMillis("24h") // 86_400_000
 */
export const toMillis = (duration: DurationInput, where = "duration"): number => {
  if (typeof duration === "number") {
    if (!Number.isFinite(duration) || duration < 0) throw new RangeError(`${where}: expected a non-negative number of milliseconds, got ${duration}`)
    return duration
  }
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration)
  if (match === null) throw new RangeError(`${where}: cannot read "${duration}" as a duration (use e.g. "250ms", "30s", "5m", "24h", "2d")`)
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs]
}
