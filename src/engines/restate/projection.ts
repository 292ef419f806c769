import { type Journal, JournalConflictError } from "../../contract/journal.ts"

/**
 * A run's switchboard journal written as a projection of Restate's: idempotent under replay.
 *
 * @example
 * const projection: ProjectionJournal = await projectionJournal(store, runId)
 * projection.failed.catch((error) => console.error("projection write failed", error))
 */
export interface ProjectionJournal extends Journal {
  /** Rejects with the first write that failed (not a duplicate): the invocation must be retried. */
  readonly failed: Promise<never>
  /** How many events the store held when this attempt began: the replayed ones. */
  readonly written: number
}

/**
 * Mirrors one run's events into a switchboard store while Restate executes it. Every attempt of
 * the invocation replays the same events in the same order (step outcomes come from Restate's
 * journal), so an event's `seq` names it: positions the store already holds are skipped, and a
 * duplicate another attempt wrote first is not an error. Any other failure is reported through
 * `failed` so the handler can end the attempt and let Restate retry it; the projection then
 * catches up on the replay.
 *
 * @example
 * const journal = await projectionJournal(sqliteJournal({ path: "runs.db" }), ctx.key)
 * const result = await triage.run(input, { runId: ctx.key, journal, executor: restateStepExecutor(ctx) })
 */
export const projectionJournal = async (store: Journal, runId: string): Promise<ProjectionJournal> => {
  const written = (await store.read(runId)).length
  let failure: unknown
  let reject: (error: unknown) => void = () => {}
  const failed = new Promise<never>((_, rejectWith) => (reject = rejectWith))
  failed.catch(() => {})
  const fail = (error: unknown) => {
    if (failure !== undefined) return
    failure = error
    reject(error)
  }
  const guard = (write: () => void | Promise<void>, duplicateOk: boolean): void | Promise<void> => {
    if (failure !== undefined) return
    const ignore = (error: unknown) => {
      if (!(duplicateOk && error instanceof JournalConflictError)) fail(error)
    }
    try {
      const pending = write()
      if (pending instanceof Promise) return pending.catch(ignore)
    } catch (error) {
      ignore(error)
    }
  }
  return {
    failed,
    written,
    append: (entry) => (entry.seq < written ? undefined : guard(() => store.append(entry), true)),
    read: (id) => store.read(id),
    saveSnapshot: (id, snapshot) => guard(() => store.saveSnapshot(id, snapshot), false),
    loadSnapshot: (id) => store.loadSnapshot(id),
  }
}
