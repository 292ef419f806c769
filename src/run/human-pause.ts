// Where a run meets a person: a human step or an agent's tool call that needs approval. A resumed
// run applies the decision (or expiry) its journal holds, or the expiry of a deadline that passed
// meanwhile; otherwise the run journals that it waits (with the deadline) and, unless its handle
// keeps it in memory, pauses to the journal. A live handle's decision that comes after the
// deadline is refused as late.
import type { AnyActorRef, SnapshotFrom } from "xstate"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import { machineEvents } from "../compile/run-context.ts"
import { pendingApproval } from "../compile/state-value.ts"
import type { RunEvent } from "../contract/events.ts"
import { visitKey } from "../contract/keys.ts"
import type { Thread } from "../contract/thread.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import type { HumanStep } from "../definition/steps/step.ts"
import { approvalPrompt, humanPrompt, lateDecision } from "./decisions.ts"
import { eventKey, type Replay } from "./replay.ts"
import type { PendingDecision } from "./result.ts"

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
    /** Every decision the run waits for (a pause inside fan-out); a pause at `step` alone without it. */
    readonly pending?: readonly PendingDecision[]
  }) => void
  /** Pausing failed (a journal or prompt that threw past its guard): end the run failed. */
  readonly failed: (error: unknown) => void
}

/** The latest pause of a step in this execution: enough to tell a late decision from one on time. */
interface Arrival {
  readonly visit: number
  readonly deadline: number | null
  /** Human steps: the step's error when the pause began (the expiry puts a new one there). */
  readonly error?: unknown
  /** Agent steps: the pause's `step#visit#n`, and how many of the visit's pauses had expired before it. */
  readonly key?: string
  readonly expired?: number
}

/**
 * The two places a run can meet a person, for its state subscription to call, and the check of a
 * live decision's timing.
 *
 * @example
 * const { arriveAtHuman, arriveAtApproval, refuseLate } = humanPauses(options)
 */
export const humanPauses = (options: PauseOptions) => {
  const { graph, runId, replay, actor, record } = options
  const arrivals = new Map<string, Arrival>()

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

  const promptOf = (step: string, snapshot: Snapshot): string | undefined => {
    const definition = graph.steps.get(step)
    if (definition?.kind !== "human") return undefined
    const { input, steps, visits } = snapshot.context
    return humanPrompt(definition as HumanStep<unknown, never>, step, { input, steps, visit: visits[step] ?? 1, runId, thread: options.thread() })
  }

  // At a human step: a resumed run applies the journaled decision or expiry; otherwise it waits.
  const arriveAtHuman = (step: string, snapshot: Snapshot) => {
    const visit = snapshot.context.visits[step] ?? 1
    arrivals.set(step, { visit, deadline: snapshot.context.waiting?.deadline ?? null, error: snapshot.context.errors[step] })
    const key = visitKey(step, visit)
    if (replay?.decisions.has(key) === true) actor.send({ type: machineEvents.decide(step), decision: replay.decisions.get(key) })
    else if (replay?.expired.has(key) === true) actor.send({ type: machineEvents.expire(step) })
    // A deadline that passed while nothing ran (a resumed run) applies now, as it would have live.
    else if ((snapshot.context.waiting?.deadline ?? Number.POSITIVE_INFINITY) <= Date.now()) actor.send({ type: machineEvents.expire(step) })
    else void pause(step, snapshot).catch(options.failed)
  }

  // At an agent's tool call that needs a person: a resumed run applies the journaled decision.
  let approvalSeen: string | undefined
  const arriveAtApproval = (snapshot: Snapshot) => {
    const approval = pendingApproval(snapshot.value, snapshot.context)
    if (approval === undefined || approval.key === approvalSeen) return
    approvalSeen = approval.key
    const visit = snapshot.context.visits[approval.step] ?? 1
    const deadline = snapshot.context.waiting?.deadline ?? null
    const conversation = snapshot.context.agents?.[approval.step]
    arrivals.set(approval.step, { visit, deadline, key: approval.key, expired: conversation?.expired ?? 0 })
    // A pause the journal holds, ended here without pausing again, stands for its journaled wait
    // (and for a decision, which the machine does not journal again), so a later pause of the same
    // visit is not mistaken for one already written. An expiry is journaled again, and skipped there.
    const replayed = (types: ReadonlyArray<"human.waiting" | "human.decided">) => {
      for (const type of types) {
        if (type === "human.waiting" && replay?.waits?.has(approval.key) !== true) continue
        const key = eventKey({ type, runId, step: approval.step, visit, decision: null, at: 0 })
        replay?.journaled.set(key, Math.max(0, (replay.journaled.get(key) ?? 0) - 1))
      }
    }
    if (replay?.approvals?.has(approval.key) === true) {
      replayed(["human.waiting", "human.decided"])
      actor.send({ type: machineEvents.decide(approval.step), decision: replay.approvals.get(approval.key) })
    } else if (replay?.expiredApprovals?.has(approval.key) === true) {
      replayed(["human.waiting"])
      actor.send({ type: machineEvents.expire(approval.step) })
    } else if (deadline !== null && deadline <= Date.now()) {
      // The deadline passed while the run was paused: the call is refused now, as it would have been live.
      replayed(["human.waiting"])
      actor.send({ type: machineEvents.expire(approval.step) })
    } else void pause(approval.step, snapshot, approvalPrompt(approval.step, approval.call)).catch(options.failed)
  }

  /**
   * Throws `DecisionError("late")` for a live decision on `step` that comes after the deadline of
   * its latest pause: while the run still waits there (its timer has not fired yet), or once that
   * pause has expired and the run moved on. A decision for a pause that ended on time passes.
   */
  const refuseLate = (step: string, snapshot: Snapshot, now = Date.now()): void => {
    const arrival = arrivals.get(step)
    if (arrival === undefined || arrival.deadline === null || arrival.deadline > now) return
    const { context } = snapshot
    const waitingHere = context.status === "awaiting-human" && context.waiting?.step === step
    if (arrival.key === undefined) {
      if ((context.visits[step] ?? 0) !== arrival.visit) return
      const error = context.errors[step]
      const expired = error !== arrival.error && error?._tag === "HumanTimeoutError"
      if (waitingHere || expired) throw lateDecision(step, arrival.deadline, now)
      return
    }
    const conversation = context.agents?.[step]
    if (conversation === undefined || conversation.visit !== arrival.visit) return
    const stillThere = waitingHere && pendingApproval(snapshot.value, context)?.key === arrival.key
    if (stillThere || (conversation.expired ?? 0) > (arrival.expired ?? 0)) throw lateDecision(step, arrival.deadline, now)
  }

  return { arriveAtHuman, arriveAtApproval, refuseLate }
}
