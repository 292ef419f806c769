import type { Journal } from "../contract/journal.ts"

/**
 * The journal of a run given none: nobody can read it back, so it keeps nothing (events still
 * reach `onEvent` and observers). Pass `memoryJournal()` to keep them in memory.
 */
export const discardingJournal: Journal = {
  append: () => {},
  read: async () => [],
  saveSnapshot: () => {},
  loadSnapshot: async () => undefined,
}
