// What the SQLite fleet test counts once every run is done: each count must be 0, whatever was killed when.
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { JournalEntry } from "../../src/index.ts"

/** One line of a process log: what happened, which process, when (epoch ms), and any detail. */
interface LogLine {
  readonly key: string
  readonly pid: number
  readonly at: number
  readonly detail: string
}

const readLog = (logs: string, file: string): LogLine[] => {
  const path = join(logs, file)
  if (!existsSync(path)) return []
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [key = "", pid = "", at = "", ...detail] = line.split(" ")
      return { key, pid: Number(pid), at: Number(at), detail: detail.join(" ") }
    })
}

const byKey = (lines: readonly LogLine[]): Map<string, LogLine[]> => {
  const grouped = new Map<string, LogLine[]>()
  for (const line of lines) grouped.set(line.key, [...(grouped.get(line.key) ?? []), line])
  return grouped
}

// A second line for one key is excused only when every process that logged it before had been
// killed by then (the kill landed between the work and its journal entry).
const unexcused = (lines: readonly LogLine[], killedAt: ReadonlyMap<number, number>): number =>
  lines.slice(1).filter((line, index) => lines.slice(0, index + 1).some((earlier) => !((killedAt.get(earlier.pid) ?? Number.POSITIVE_INFINITY) <= line.at)))
    .length

/** The fleet's counts: all must be 0; `restarts` (steps started again after a kill) shows the kills landed mid-run. */
export interface FleetCounts {
  readonly lost: number
  readonly corrupt: number
  readonly finishedStepsRerun: number
  readonly concurrentExecutions: number
  readonly duplicateEffects: number
  readonly doubleDecisions: number
  readonly healthyRunsReportedFailed: number
  readonly unexpectedErrors: number
  readonly restarts: number
  readonly problems: readonly string[]
}

/**
 * Counts what went wrong across the fleet: `journals` (every submitted run's entries, `undefined`
 * when reading it failed), the processes' logs in `logs`, and when each killed pid was sent SIGKILL.
 */
export const countFleet = (
  journals: ReadonlyMap<string, { readonly review: boolean; readonly entries: readonly JournalEntry[] | undefined }>,
  logs: string,
  killedAt: ReadonlyMap<number, number>,
): FleetCounts => {
  const problems: string[] = []
  let lost = 0
  let corrupt = 0
  let finishedStepsRerun = 0
  let doubleDecisions = 0
  const starts = byKey(readLog(logs, "executions.log"))
  const decisions = byKey(readLog(logs, "decisions.log"))
  for (const [runId, { review, entries }] of journals) {
    if (entries === undefined || entries.some((entry, index) => entry.seq !== index || entry.runId !== runId)) {
      corrupt++
      problems.push(`${runId}: journal unreadable or out of order`)
      continue
    }
    const end = entries.at(-1)
    if (end?.type !== "run.finished" || end.status !== "done") {
      lost++
      problems.push(`${runId}: ends with ${end?.type} ${end?.type === "run.finished" ? end.status : ""}`)
    }
    const finished = entries.flatMap((entry) => (entry.type === "step.finished" ? [entry] : []))
    if (finished.map((entry) => `${entry.step}:${entry.visit}`).join(",") !== "prepare:1,charge:1,ship:1") {
      corrupt++
      problems.push(`${runId}: finished steps ${finished.map((entry) => entry.step).join(",")}`)
    }
    for (const entry of finished) {
      const later = (starts.get(`${runId}:${entry.step}:${entry.visit}`) ?? []).filter((line) => line.at > entry.at)
      finishedStepsRerun += later.length
      if (later.length > 0) problems.push(`${runId}: ${entry.step} started again after it finished`)
    }
    const decided = entries.filter((entry) => entry.type === "human.decided").length
    const returned = decisions.get(runId)?.length ?? 0
    if (decided !== (review ? 1 : 0)) {
      corrupt++
      problems.push(`${runId}: ${decided} decisions journaled`)
    }
    if (decided > 1 || returned > 1) {
      doubleDecisions++
      problems.push(`${runId}: ${decided} decisions journaled, ${returned} decide calls returned`)
    }
  }
  let concurrentExecutions = 0
  for (const [key, lines] of starts) {
    const count = unexcused(lines, killedAt)
    concurrentExecutions += count
    if (count > 0) problems.push(`${key} started by ${lines.map((line) => line.pid).join(", ")}, not all killed`)
  }
  let duplicateEffects = 0
  for (const [key, lines] of byKey(readLog(logs, "effects.log"))) {
    const count = unexcused(lines, killedAt)
    duplicateEffects += count
    if (count > 0) problems.push(`${key}: effect written by ${lines.map((line) => line.pid).join(", ")}, not all killed`)
  }
  const failures = readLog(logs, "failures.log")
  for (const failure of failures) problems.push(`${failure.key} reported failed to ${failure.pid}: ${failure.detail}`)
  const errors = readLog(logs, "errors.log")
  for (const error of errors) problems.push(`${error.key}: ${error.pid} met ${error.detail}`)
  return {
    lost,
    corrupt,
    finishedStepsRerun,
    concurrentExecutions,
    duplicateEffects,
    doubleDecisions,
    healthyRunsReportedFailed: failures.length,
    unexpectedErrors: errors.length,
    restarts: [...starts.values()].filter((lines) => lines.length > 1).length,
    problems,
  }
}
