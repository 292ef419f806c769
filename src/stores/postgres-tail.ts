// The Postgres journal's cursor: pages by seq (one run) or by the `position` sequence (all runs),
// woken by the tail channel's NOTIFY on one LISTEN connection shared by all of the journal's tails.
import type { JournalTailOptions, TailedEntry } from "../contract/journal.ts"
import { entryOfRow } from "../contract/journal-check.ts"
import { type TailCursor, tailJournal } from "./journal-tail.ts"

interface TailRow {
  readonly run_id?: string
  readonly seq: number
  readonly type: string
  readonly at: string
  readonly data: unknown
  readonly position: string
}

/**
 * The tails of one Postgres journal. `listen(onPayload)` opens a LISTEN on the tail channel and
 * resolves with its stop; it is opened at the first tail and stopped after the last one.
 *
 * @example
 * const tails = postgresTails({ query, listen, statements })
 * for await (const entry of tails.tail({ runId })) console.log(entry.seq)
 */
export const postgresTails = (store: {
  readonly query: (text: string, values: unknown[]) => Promise<{ readonly rows: unknown[] }>
  readonly listen: (onPayload: (runId: string) => void) => Promise<() => Promise<void>>
  readonly tailRun: string
  readonly tailAll: string
}) => {
  const wakes = new Set<() => void>()
  let listening: Promise<() => Promise<void>> | undefined
  let closed = false
  const wakeAll = () => {
    for (const wake of wakes) wake()
  }
  const toEntry = (runId: string, row: TailRow): TailedEntry => ({
    ...entryOfRow(runId, { seq: row.seq, type: row.type, at: Number(row.at), data: row.data }),
    position: Number(row.position),
  })
  const readPage = async (cursor: TailCursor, limit: number): Promise<readonly TailedEntry[]> => {
    if (cursor.runId === undefined) {
      const { rows } = await store.query(store.tailAll, [cursor.afterPosition, limit])
      return (rows as TailRow[]).map((row) => toEntry(row.run_id ?? "", row))
    }
    const runId = cursor.runId
    const { rows } = await store.query(store.tailRun, [runId, cursor.afterSeq, cursor.afterPosition, limit])
    return (rows as TailRow[]).map((row) => toEntry(runId, row))
  }
  const stopListening = async () => {
    const stop = listening
    listening = undefined
    await (await stop?.catch(() => undefined))?.()
  }
  return {
    tail: (options?: JournalTailOptions): AsyncIterable<TailedEntry> =>
      tailJournal(options, {
        page: (cursor, limit) =>
          readPage(cursor, limit).catch((error: unknown) => {
            // Closed while reading: the tail ends, as it does when closed between reads.
            if (closed) return []
            throw error
          }),
        subscribe: async (wake) => {
          wakes.add(wake)
          listening ??= store.listen(wakeAll)
          try {
            await listening
          } catch (error) {
            wakes.delete(wake)
            listening = undefined
            throw error
          }
          return async () => {
            wakes.delete(wake)
            if (wakes.size === 0) await stopListening()
          }
        },
        closed: () => closed,
        // A NOTIFY sent while the LISTEN connection reconnects is lost: read again at least this often.
        pollMs: 1000,
      }),
    close: async () => {
      closed = true
      wakeAll()
      await stopListening()
    },
  }
}
