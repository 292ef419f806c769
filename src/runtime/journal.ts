import type { RunEvent } from "./events.ts"

/**
 * One journal record: a run event with its position in the run.
 *
 * @example
 * const first = (entries: readonly JournalEntry[]) => entries.find((entry) => entry.seq === 0)
 */
export type JournalEntry = RunEvent & { readonly seq: number }

/**
 * Where a run's events go, in order, before the machine moves on. The in-memory journal ships
 * here; durable stores (SQLite, Postgres) implement the same interface.
 *
 * @example
 * const journal: Journal = memoryJournal()
 * await journal.append({ seq: 0, type: "run.started", runId: "r1", pipeline: "p", input: {}, at: Date.now() })
 */
export interface Journal {
  append(entry: JournalEntry): void | Promise<void>
  read(runId: string): Promise<readonly JournalEntry[]>
  /** Saves the latest persisted XState snapshot of a run (written when the run pauses or ends). */
  saveSnapshot(runId: string, snapshot: unknown): void | Promise<void>
  loadSnapshot(runId: string): Promise<unknown>
}

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
      if (entry.seq !== list.length) {
        throw new Error(`journal for run ${entry.runId}: expected seq ${list.length}, got ${entry.seq}`)
      }
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
