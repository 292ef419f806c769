import { randomUUID } from "node:crypto"
import type { RunEvent } from "../../contract/events.ts"
import type { Journal, JournalEntry } from "../../contract/journal.ts"
import type { Models } from "../../contract/model.ts"
import type { ModelCache } from "../../contract/model-cache.ts"
import { usageOfJournal } from "../../contract/usage.ts"
import type { Pipeline } from "../../run/create-runner.ts"
import type { PriceTable } from "../../run/prices.ts"
import type { RunResult } from "../../run/result.ts"
import { memoryJournal } from "../../stores/memory-journal.ts"

/** What a simulated person does at a human step visit: decide, let the deadline pass, or nothing (the run pauses). */
export type HumanReply = { readonly decision: unknown } | { readonly expire: true } | undefined

/** Options of {@link driveRun}. */
export interface DriveOptions {
  readonly models: Models
  readonly prices?: PriceTable
  /** Answers of earlier identical model calls (see the `modelCache` run option). */
  readonly modelCache?: ModelCache
  readonly journal?: Journal
  readonly runId?: string
  readonly signal?: AbortSignal
  readonly observers?: ReadonlyArray<(event: RunEvent) => void>
  /** Asked at every human step visit. */
  readonly human?: (step: string, visit: number) => HumanReply
}

/** A run driven to its end (or to a human step nobody answers), with its journal. */
export interface DrivenRun {
  readonly result: RunResult<Record<string, unknown>>
  readonly entries: readonly JournalEntry[]
}

/**
 * Runs a pipeline once, answering human steps from `human` (decisions and expiries are
 * journaled like live ones); a human step left unanswered ends the drive `awaiting-human`.
 */
export const driveRun = async (pipeline: Pipeline<unknown, Record<string, unknown>>, input: unknown, options: DriveOptions): Promise<DrivenRun> => {
  const journal = options.journal ?? memoryJournal()
  const runId = options.runId ?? randomUUID()
  const startedAt = Date.now()
  let handle: ReturnType<typeof pipeline.start> | undefined
  let resolvePaused: (result: RunResult<Record<string, unknown>>) => void = () => {}
  const paused = new Promise<RunResult<Record<string, unknown>>>((resolve) => (resolvePaused = resolve))
  const onEvent = (event: RunEvent) => {
    if (event.type !== "human.waiting") return
    const reply = options.human?.(event.step, event.visit)
    // Answer after the run has finished journaling the wait, as a person would.
    queueMicrotask(() => {
      if (handle === undefined) return
      if (reply === undefined) {
        const steps = handle.actor.getSnapshot().context.steps
        handle.actor.stop()
        void journal.read(runId).then((entries) =>
          resolvePaused({
            status: "awaiting-human",
            runId,
            step: event.step,
            deadline: event.deadline ?? null,
            steps,
            durationMs: Date.now() - startedAt,
            usage: usageOfJournal(entries),
            ...(event.prompt === undefined ? {} : { prompt: event.prompt }),
          }),
        )
      } else if ("expire" in reply) handle.actor.send({ type: `${event.step}.expire` })
      else {
        try {
          handle.send(event.step, reply.decision)
        } catch (error) {
          handle.cancel(`decision for "${event.step}" refused: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
    })
  }
  handle = pipeline.start(input, {
    models: options.models,
    journal,
    runId,
    observers: [...(options.observers ?? []), onEvent],
    ...(options.prices === undefined ? {} : { prices: options.prices }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.modelCache === undefined ? {} : { modelCache: options.modelCache }),
  })
  const result = await Promise.race([handle.result, paused])
  return { result, entries: await journal.read(runId) }
}
