// What a retry (run/retry.ts) reads and forgets of a run's journal. Pure functions of the entries,
// kept apart from retry.ts so resume.ts can read a retried journal without an import cycle.
import type { JournalEntry } from "../contract/journal.ts"
import { visitKey } from "../contract/keys.ts"

type Entry = JournalEntry

const stepOf = (entry: Entry): { readonly step: string; readonly visit: number } | undefined =>
  "step" in entry && typeof entry.step === "string" && "visit" in entry && typeof entry.visit === "number"
    ? { step: entry.step, visit: entry.visit }
    : undefined

// A step inside `parent` journals under a path that starts with it: `fan.b`, `items[3]`, `items[3].classify`.
const isInside = (step: string, parent: string): boolean => step.startsWith(`${parent}.`) || step.startsWith(`${parent}[`)

/**
 * Whether a run has ended: it has a `run.finished` that no later `run.retried` reopened.
 *
 * @example
 * if (hasFinished(entries)) throw new ResumeError("finished", runId, "it has already finished")
 */
export const hasFinished = (entries: readonly Entry[]): boolean => {
  const finished = entries.findLastIndex((entry) => entry.type === "run.finished")
  return finished >= 0 && finished > entries.findLastIndex((entry) => entry.type === "run.retried")
}

/** How many times a run was retried so far. */
export const retriesOf = (entries: readonly Entry[]): number => entries.filter((entry) => entry.type === "run.retried").length

/**
 * The visits (`step#visit`) of the pipeline's own steps that ended the run: each one that failed
 * (or was cancelled, or was left in flight, or waited on a person) without an error route taking
 * the run on. A failure an error route handled is the step's answer and stays one.
 *
 * @example
 * failedVisits(entries, new Set(["draft", "check"])) // ["check#1"]
 */
export const failedVisits = (entries: readonly Entry[], topLevel: ReadonlySet<string>): readonly string[] => {
  // The last thing each visit did, and whether a route left the step after it. A visit with a
  // `step.started` (an agent asking for approvals too) ends with its own step.finished or step.failed;
  // a human step's visit (no step.started) ends with its decision or expiry.
  const visits = new Map<string, { started: boolean; outcome: "open" | "finished" | "failed"; routed: boolean }>()
  const latest = new Map<string, string>()
  for (const entry of entries) {
    // Into the final `failed` state is how the run ended, not a route that took it on.
    if (entry.type === "route.taken" && entry.to !== "failed") {
      const key = latest.get(entry.from)
      const visit = key === undefined ? undefined : visits.get(key)
      if (visit !== undefined) visit.routed = true
      continue
    }
    const at = stepOf(entry)
    if (at === undefined || !topLevel.has(at.step)) continue
    const key = visitKey(at.step, at.visit)
    let visit = visits.get(key)
    if (visit === undefined || entry.type === "step.started") {
      visit = { started: entry.type === "step.started", outcome: "open", routed: false }
      visits.set(key, visit)
      latest.set(at.step, key)
    }
    if (entry.type === "step.finished") visit.outcome = "finished"
    else if (entry.type === "step.failed") visit.outcome = "failed"
    else if ((entry.type === "human.decided" || entry.type === "human.expired") && !visit.started) visit.outcome = "finished"
  }
  return [...visits].filter(([, visit]) => visit.outcome !== "finished" && !visit.routed).map(([key]) => key)
}

/**
 * The entries a resumed run replays from: at each `run.retried`, what the visits it names did
 * before is forgotten (their start, attempts, failure, and whatever inside them had not finished),
 * and so is the `run.finished` it reopened, so those run again and are journaled anew. Branches and
 * map items that finished, a map's journaled item list and human decisions stay.
 *
 * @example
 * const replay = buildReplay(replayedEntries(entries))
 */
export const replayedEntries = (entries: readonly Entry[]): readonly Entry[] => {
  if (!entries.some((entry) => entry.type === "run.retried")) return entries
  const forgotten = new Set<number>()
  entries.forEach((marker, index) => {
    if (marker.type !== "run.retried") return
    forgotten.add(index)
    for (let before = 0; before < index; before++) if (entries[before]?.type === "run.finished") forgotten.add(before)
    for (const key of marker.steps) forgetVisit(entries, index, key, forgotten)
  })
  return entries.filter((_entry, index) => !forgotten.has(index))
}

const forgetVisit = (entries: readonly Entry[], until: number, key: string, forgotten: Set<number>): void => {
  const split = key.lastIndexOf("#")
  const step = key.slice(0, split)
  const visit = Number(key.slice(split + 1))
  const own = (entry: Entry) => {
    const at = stepOf(entry)
    return at !== undefined && at.step === step && at.visit === visit
  }
  // The visit's events start at its (last) start; a human step's at its wait; a human step's
  // failed route may have only its failure.
  const lastOwn = (type: Entry["type"]) => entries.findLastIndex((entry, index) => index < until && entry.type === type && own(entry))
  let from = lastOwn("step.started")
  if (from < 0) from = lastOwn("human.waiting")
  if (from < 0) from = lastOwn("step.failed")
  if (from < 0) return
  // Inner steps (branches, items, nested steps) that finished are kept: they replay, not rerun.
  const finishedInside = new Set<string>()
  for (let index = from; index < until; index++) {
    const entry = entries[index] as Entry
    if (entry.type === "step.finished" && isInside(entry.step, step)) finishedInside.add(visitKey(entry.step, entry.visit))
  }
  // An agent's approvals are asked again with its new attempt; a human step's are not.
  const startedOwn = entries.some((entry, index) => index >= from && index < until && own(entry) && entry.type === "step.started")
  // A human step's answer stands (its route, the code, runs again on it), and so does its wait.
  const answered = entries.some(
    (entry, index) => index >= from && index < until && own(entry) && (entry.type === "human.decided" || entry.type === "human.expired"),
  )
  const human = (entry: Entry) => entry.type === "human.waiting" || entry.type === "human.decided" || entry.type === "human.expired"
  for (let index = from; index < until; index++) {
    const entry = entries[index] as Entry
    // The map's item list stays: a retry must compute the same list to match finished items.
    if (entry.type === "map.listed") continue
    // The route into the final `failed` state is taken again if the new attempt fails too.
    if (entry.type === "route.taken" && entry.from === step && entry.to === "failed") forgotten.add(index)
    const at = stepOf(entry)
    if (at === undefined) continue
    if (own(entry)) {
      if (!(answered && human(entry) && !startedOwn)) forgotten.add(index)
    } else if (isInside(at.step, step) && !finishedInside.has(visitKey(at.step, at.visit))) forgotten.add(index)
  }
}
