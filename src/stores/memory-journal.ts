import { type Journal, JournalConflictError, type JournalEntry, type JournalTailOptions, type TailedEntry } from "../contract/journal.ts"
import { tailJournal } from "./journal-tail.ts"

/**
 * A journal kept in this process's memory: for tests, examples and short-lived runs. It keeps
 * each event and snapshot as JSON text, as the durable journals do, so what a run reads back is
 * what it would read from SQLite or Postgres, and a value JSON cannot hold fails here too.
 * `tail()` follows it live; an entry's position is its place among all appends (1, 2, …).
 *
 * @example
 * const journal = memoryJournal()
 * await pipeline.run(input, { models, journal })
 * console.log(await journal.read(runId))
 */
export const memoryJournal = (): Journal & {
  readonly runIds: () => readonly string[]
  readonly tail: (options?: JournalTailOptions) => AsyncIterable<TailedEntry>
} => {
  const entries = new Map<string, string[]>()
  // Every append in order, for tails across runs; a run's entry at seq n is `positions[runId][n]`.
  const appended: { readonly runId: string; readonly seq: number }[] = []
  const positions = new Map<string, number[]>()
  const snapshots = new Map<string, string>()
  const wakes = new Set<() => void>()
  const tailed = (runId: string, seq: number): TailedEntry => ({
    ...(JSON.parse(entries.get(runId)?.[seq] ?? "null") as JournalEntry),
    position: positions.get(runId)?.[seq] ?? 0,
  })
  return {
    label: "memory",
    append(entry) {
      const list = entries.get(entry.runId) ?? []
      if (entry.seq < list.length) throw new JournalConflictError(entry.runId, entry.seq)
      if (entry.seq !== list.length) throw new Error(`journal for run ${entry.runId}: expected seq ${list.length}, got ${entry.seq}`)
      list.push(serialize(entry))
      entries.set(entry.runId, list)
      appended.push({ runId: entry.runId, seq: entry.seq })
      const runPositions = positions.get(entry.runId) ?? []
      runPositions.push(appended.length)
      positions.set(entry.runId, runPositions)
      for (const wake of wakes) wake()
    },
    read: async (runId) => (entries.get(runId) ?? []).map((text) => JSON.parse(text) as JournalEntry),
    saveSnapshot(runId, snapshot) {
      const text = JSON.stringify(snapshot)
      if (text === undefined) snapshots.delete(runId)
      else snapshots.set(runId, text)
    },
    loadSnapshot: async (runId) => {
      const text = snapshots.get(runId)
      return text === undefined ? undefined : JSON.parse(text)
    },
    tail: (options) =>
      tailJournal(options, {
        page: (cursor, limit) => {
          if (cursor.runId === undefined) return appended.slice(cursor.afterPosition, cursor.afterPosition + limit).map(({ runId, seq }) => tailed(runId, seq))
          const runPositions = positions.get(cursor.runId) ?? []
          const page: TailedEntry[] = []
          for (let seq = cursor.afterSeq + 1; seq < runPositions.length && page.length < limit; seq++) {
            if ((runPositions[seq] ?? 0) > cursor.afterPosition) page.push(tailed(cursor.runId, seq))
          }
          return page
        },
        subscribe: (wake) => {
          wakes.add(wake)
          return () => wakes.delete(wake)
        },
        closed: () => false,
        pollMs: 60_000,
      }),
    runIds: () => [...entries.keys()],
  }
}

// Refused as the durable journals refuse it: a BigInt or a cycle names the run and the seq.
const serialize = (entry: JournalEntry): string => {
  try {
    return JSON.stringify(entry)
  } catch (error) {
    throw new Error(`journal for run ${entry.runId}: event ${entry.seq} (${entry.type}) is not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
