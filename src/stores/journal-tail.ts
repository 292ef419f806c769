// The one loop behind every store's `tail`: read a page after the cursor, yield it, and when the
// journal has nothing more, sleep until the store says something was written (or a poll is due).
import type { JournalTailOptions, TailedEntry } from "../contract/journal.ts"

/** Where a tail stands: the run's last seq (one run) and the last journal position seen. */
export interface TailCursor {
  readonly runId?: string
  readonly afterSeq: number
  readonly afterPosition: number
}

/**
 * What a store gives the tail loop: a page of entries after the cursor (in seq order for one run,
 * in position order across runs), a way to be woken when something is written, and whether the
 * store is closed (a closed journal ends its tails).
 *
 * @example
 * const source: TailSource = { page: async () => [], subscribe: () => () => {}, closed: () => false, pollMs: 50 }
 */
export interface TailSource {
  page(cursor: TailCursor, limit: number): readonly TailedEntry[] | Promise<readonly TailedEntry[]>
  /** Calls `wake` whenever entries may have been written; returns the unsubscribe. May be async (a LISTEN). */
  subscribe(wake: () => void): (() => void) | Promise<() => void | Promise<void>>
  closed(): boolean
  /** The longest sleep between two reads when nothing wakes the tail (a backstop for missed wake-ups). */
  readonly pollMs: number
}

const pageSize = 500

/**
 * Checks tail options, naming the wrong one.
 *
 * @example
 * checkTailOptions({ runId: "r1", afterSeq: 2 }) // { runId: "r1", afterSeq: 2, afterPosition: 0 }
 */
export const checkTailOptions = (options: JournalTailOptions = {}): TailCursor => {
  const { runId, afterSeq, afterPosition } = options
  if (runId !== undefined && (typeof runId !== "string" || runId === ""))
    throw new TypeError(`journal.tail: runId must be a non-empty string, got ${JSON.stringify(runId)}`)
  if (afterSeq !== undefined) {
    if (runId === undefined) throw new TypeError("journal.tail: afterSeq is a run's seq and needs a runId; across runs resume with afterPosition")
    if (!Number.isInteger(afterSeq) || afterSeq < -1) throw new TypeError(`journal.tail: afterSeq must be an integer >= -1, got ${String(afterSeq)}`)
  }
  if (afterPosition !== undefined && (!Number.isInteger(afterPosition) || afterPosition < 0)) {
    throw new TypeError(`journal.tail: afterPosition must be an integer >= 0, got ${String(afterPosition)}`)
  }
  return { ...(runId === undefined ? {} : { runId }), afterSeq: afterSeq ?? -1, afterPosition: afterPosition ?? 0 }
}

/**
 * Follows a store through `source` from `options`' cursor until the signal aborts, the consumer
 * stops, or the store closes. Never rejects on abort; a failed read rejects the pending `next()`;
 * wrong options throw at once.
 *
 * @example
 * const entries = tailJournal({ runId: "r1", signal }, source)
 * for await (const entry of entries) console.log(entry.seq)
 */
export const tailJournal = (options: JournalTailOptions | undefined, source: TailSource): AsyncGenerator<TailedEntry, void, undefined> =>
  // Checked here, so a wrong option throws at the call rather than at the first `next()`.
  follow(checkTailOptions(options), options?.signal, source)

async function* follow(start: TailCursor, signal: AbortSignal | undefined, source: TailSource): AsyncGenerator<TailedEntry, void, undefined> {
  let cursor = start
  if (signal?.aborted) return
  let dirty = false
  let resolveWait: (() => void) | undefined
  const wake = () => {
    dirty = true
    resolveWait?.()
  }
  signal?.addEventListener("abort", wake)
  let unsubscribe: (() => void | Promise<void>) | undefined
  try {
    // Subscribed before the first read, so nothing written between the read and the sleep is missed.
    unsubscribe = await source.subscribe(wake)
    while (!signal?.aborted && !source.closed()) {
      dirty = false
      const page = await source.page(cursor, pageSize)
      for (const entry of page) {
        if (signal?.aborted) return
        cursor = {
          ...cursor,
          afterSeq: cursor.runId === undefined ? cursor.afterSeq : entry.seq,
          afterPosition: Math.max(cursor.afterPosition, entry.position),
        }
        yield entry
      }
      if (page.length === pageSize || dirty) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, source.pollMs)
        resolveWait = () => {
          clearTimeout(timer)
          resolve()
        }
        if (dirty || signal?.aborted) resolveWait()
      })
      resolveWait = undefined
    }
  } finally {
    signal?.removeEventListener("abort", wake)
    await unsubscribe?.()
  }
}
