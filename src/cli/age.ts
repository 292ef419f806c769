// How long ago something happened, as a person reads it in a listing.

/**
 * A duration in milliseconds since something happened, in its largest whole unit: `just now`,
 * `42s ago`, `5m ago`, `3h ago`, `2d ago`. A time in the future (a clock skew) reads `just now`.
 *
 * @example
 * formatAge(90_000) // "1m ago"
 * formatAge(3 * 86_400_000) // "3d ago"
 */
export const formatAge = (elapsedMs: number): string => {
  const seconds = Math.floor(elapsedMs / 1000)
  if (seconds < 1) return "just now"
  if (seconds < 60) return `${seconds}s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours}h ago`
  return `${Math.floor(hours / 24)}d ago`
}

/** The statuses `switchboard runs --status` takes. */
export const runStatuses = ["running", "awaiting-human", "done", "failed", "stopped"] as const

/**
 * Parses `--status a,b`: the statuses to keep, each one of {@link runStatuses}; `undefined` keeps all.
 * Returns the statuses, or the first word that is not one.
 *
 * @example
 * parseStatuses("failed,awaiting-human") // { statuses: ["failed", "awaiting-human"] }
 * parseStatuses("finished") // { unknown: "finished" }
 */
export const parseStatuses = (value: string | undefined): { readonly statuses?: readonly string[]; readonly unknown?: string } => {
  if (value === undefined) return {}
  const words = value
    .split(",")
    .map((word) => word.trim())
    .filter((word) => word !== "")
  const unknown = words.find((word) => !(runStatuses as readonly string[]).includes(word))
  return unknown === undefined ? { statuses: words } : { unknown }
}
