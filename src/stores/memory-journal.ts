import { type Journal, JournalConflictError, type JournalEntry } from "../contract/journal.ts"

/**
 * A journal kept in this process's memory: for tests, examples and short-lived runs. It keeps
 * each event and snapshot as JSON text, as the durable journals do, so what a run reads back is
 * what it would read from SQLite or Postgres, and a value JSON cannot hold fails here too.
 *
 * @example
 * const journal = memoryJournal()
 * await pipeline.run(input, { models, journal })
 * console.log(await journal.read(runId))
 */
export const memoryJournal = (): Journal & { readonly runIds: () => readonly string[] } => {
  const entries = new Map<string, string[]>()
  const snapshots = new Map<string, string>()
  return {
    label: "memory",
    append(entry) {
      const list = entries.get(entry.runId) ?? []
      if (entry.seq < list.length) throw new JournalConflictError(entry.runId, entry.seq)
      if (entry.seq !== list.length) throw new Error(`journal for run ${entry.runId}: expected seq ${list.length}, got ${entry.seq}`)
      list.push(serialize(entry))
      entries.set(entry.runId, list)
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
