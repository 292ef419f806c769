// The keys a run's journal and replay share: one format each, so a resume finds what a crash left.

/**
 * The key of one visit of a step: `classify#2` is the second time `classify` ran.
 *
 * @example
 * visitKey("classify", 2) // "classify#2"
 */
export const visitKey = (step: string, visit: number): string => `${step}#${visit}`

/**
 * The name a step's events are journaled (and replayed) under: inside a nested pipeline it is
 * prefixed with the parent's path (`summarise[3].classify`).
 *
 * @example
 * journaledName({ path: "summarise[3]." }, "classify") // "summarise[3].classify"
 */
export const journaledName = (services: { readonly path?: string | undefined }, step: string): string => `${services.path ?? ""}${step}`
