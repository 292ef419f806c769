import { type Journal, JournalConflictError, type JournalEntry } from "../contract/journal.ts"

/**
 * A journal kept in this process's memory: for tests, examples and short-lived runs.
 *
 * @example
 * const journal = memoryJournal()
 * await pipeline.run(input, { models, journal })
 * console.log(await journal.read(runId))
 */
export const memoryJournal = (): Journal & { readonly runIds: () => readonly string[] } => {
  const entries = new Map<string, JournalEntry[]>()
  const snapshots = new Map<string, unknown>()
  return {
    append(entry) {
      let list = entries.get(entry.runId)
      if (list === undefined) entries.set(entry.runId, (list = []))
      if (entry.seq < list.length) throw new JournalConflictError(entry.runId, entry.seq)
      if (entry.seq !== list.length) throw new Error(`journal for run ${entry.runId}: expected seq ${list.length}, got ${entry.seq}`)
      list.push(entry)
    },
    read: async (runId) => [...(entries.get(runId) ?? [])],
    saveSnapshot(runId, snapshot) {
      snapshots.set(runId, structuredClone(snapshot))
    },
    loadSnapshot: async (runId) => structuredClone(snapshots.get(runId)),
    runIds: () => [...entries.keys()],
  }
}
