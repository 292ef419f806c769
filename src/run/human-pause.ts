// Where a run meets a person: a human step or an agent's tool call that needs approval. A resumed
// run applies the decision (or expiry) its journal holds; otherwise the run journals that it waits
// and, unless its handle keeps it in memory, pauses to the journal.
import type { AnyActorRef, SnapshotFrom } from "xstate"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import { pendingApproval } from "../compile/state-value.ts"
import type { RunEvent } from "../contract/events.ts"
import { visitKey } from "../contract/keys.ts"
import type { Thread } from "../contract/thread.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { approvalPrompt } from "./decisions.ts"
import { eventKey, type Replay } from "./replay.ts"

type Snapshot = SnapshotFrom<PipelineMachine>

/**
 * What a run's pauses need from its execution.
 *
 * @example
 * const pauses = humanPauses({ graph, runId, replay, keepWaiting: false, actor, record, saveSnapshot, thread, settle, failed })
 */
export interface PauseOptions {
  readonly graph: PipelineGraph
  readonly runId: string
  readonly replay: Replay | undefined
  /** `start()` keeps a waiting run in memory; `run()` and `decide()` pause it to the journal. */
  readonly keepWaiting: boolean
  readonly actor: Pick<AnyActorRef, "send">
  readonly record: (event: RunEvent) => void | Promise<void>
  readonly saveSnapshot: () => Promise<void>
  /** The run's thread, for a human step's prompt. */
  readonly thread: () => Thread
  /** The run paused to the journal at `step`: settle it `awaiting-human`. */
  readonly settle: (waiting: {
    readonly step: string
    readonly prompt: string | undefined
    readonly deadline: number | null
    readonly snapshot: Snapshot
  }) => void
  /** Pausing failed (a journal or prompt that threw past its guard): end the run failed. */
  readonly failed: (error: unknown) => void
}

/**
 * The two places a run can meet a person, for its state subscription to call.
 *
 * @example
 * const { arriveAtHuman, arriveAtApproval } = humanPauses(options)
 */
export const humanPauses = (options: PauseOptions) => {
  const { graph, runId, replay, actor, record } = options

  const pause = async (step: string, snapshot: Snapshot, approval?: string) => {
    const prompt = approval ?? promptOf(step, snapshot)
    const deadline = snapshot.context.waiting?.deadline ?? null
    const visit = snapshot.context.visits[step] ?? 1
    await record({
      type: "human.waiting",
      runId,
      step,
      visit,
      ...(prompt === undefined ? {} : { prompt }),
      ...(deadline === null ? {} : { deadline }),
      at: Date.now(),
    })
    await options.saveSnapshot()
    if (!options.keepWaiting) options.settle({ step, prompt, deadline, snapshot })
  }

  // A prompt that throws must not lose the pause: the person sees what went wrong instead.
  const promptOf = (step: string, snapshot: Snapshot): string | undefined => {
    const definition = graph.steps.get(step)
    if (definition?.kind !== "human" || definition.prompt === undefined) return undefined
    const context = snapshot.context
    try {
      return definition.prompt({
        input: context.input,
        steps: context.steps,
        visit: context.visits[step] ?? 1,
        runId,
        signal: AbortSignal.abort(),
        thread: options.thread(),
      })
    } catch (error) {
      return `(prompt of "${step}" threw: ${error instanceof Error ? error.message : String(error)})`
    }
  }

  // At a human step: a resumed run applies the journaled decision or expiry; otherwise it waits.
  const arriveAtHuman = (step: string, snapshot: Snapshot) => {
    const key = visitKey(step, snapshot.context.visits[step] ?? 1)
    if (replay?.decisions.has(key) === true) actor.send({ type: `${step}.decide`, decision: replay.decisions.get(key) })
    else if (replay?.expired.has(key) === true) actor.send({ type: `${step}.expire` })
    // A deadline that passed while nothing ran (a resumed run) applies now, as it would have live.
    else if ((snapshot.context.waiting?.deadline ?? Number.POSITIVE_INFINITY) <= Date.now()) actor.send({ type: `${step}.expire` })
    else void pause(step, snapshot).catch(options.failed)
  }

  // At an agent's tool call that needs a person: a resumed run applies the journaled decision.
  let approvalSeen: string | undefined
  const arriveAtApproval = (snapshot: Snapshot) => {
    const approval = pendingApproval(snapshot.value, snapshot.context)
    if (approval === undefined || approval.key === approvalSeen) return
    approvalSeen = approval.key
    if (replay?.approvals?.has(approval.key) === true) {
      // The original run journaled this pause and its decision; replaying stands for both, so
      // a later pause of the same visit is not mistaken for one already written.
      const visit = snapshot.context.visits[approval.step] ?? 1
      for (const type of ["human.waiting", "human.decided"] as const) {
        const key = eventKey({ type, runId, step: approval.step, visit, decision: null, at: 0 })
        replay.journaled.set(key, Math.max(0, (replay.journaled.get(key) ?? 0) - 1))
      }
      actor.send({ type: `${approval.step}.decide`, decision: replay.approvals.get(approval.key) })
    } else void pause(approval.step, snapshot, approvalPrompt(approval.step, approval.call)).catch(options.failed)
  }

  return { arriveAtHuman, arriveAtApproval }
}
