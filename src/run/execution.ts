import { createActor, type SnapshotFrom } from "xstate"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import { type MachineOutput, machineEvents } from "../compile/run-context.ts"
import { stateNameOf, topState } from "../compile/state-value.ts"
import { toMillis } from "../contract/duration.ts"
import { type RunError, serializeStepError } from "../contract/errors.ts"
import type { RunEvent, UsageTotals } from "../contract/events.ts"
import { ClaimLostError, type RunClaim, RunClaimedError } from "../contract/journal.ts"
import { redactor } from "../contract/redaction.ts"
import { noThread } from "../contract/thread.ts"
import { addUsage, emptyUsage } from "../contract/usage.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import type { RunHandle, RunOptions } from "./create-runner.ts"
import { checkDecision, decisionSchemaOf, stepAt } from "./decisions.ts"
import { discardingJournal } from "./discarding-journal.ts"
import { runDrain } from "./drain.ts"
import { longTimerClock } from "./executor.ts"
import { humanPauses } from "./human-pause.ts"
import { boundedClaim } from "./journal-failure.ts"
import { journalWriter } from "./journal-writer.ts"
import { defaultPrices } from "./prices.ts"
import { eventKey, type Replay } from "./replay.ts"
import { DecisionError, EventStream, type PendingDecision, type RunResult, topStepOf, toRunResult } from "./result.ts"
import { attachServices } from "./services.ts"
import { threadSession } from "./thread-session.ts"
import { type OpenWait, waitBoard } from "./wait-board.ts"

/** Runs executing in this process: a worker here never takes one of them. */
export const executingHere = new Set<string>()

/** One live execution of a run: its handle, when it settles, and how to start it. */
export interface Execution {
  readonly handle: RunHandle<never>
  /** Settles at the first pause (awaiting-human) or at the end. */
  readonly settled: Promise<RunResult<never>>
  /** Journals `first` (if any), then starts the actor. */
  readonly start: (first?: RunEvent) => Promise<void>
}

export interface ExecutionOptions {
  readonly runId: string
  readonly runOptions: RunOptions
  readonly from: { readonly input: unknown } | { readonly snapshot: unknown }
  /** Journal position of the next event (0 for a new run). */
  readonly seq: number
  /** `start()` keeps a waiting run in memory; `run()` and `decide()` pause it to the journal. */
  readonly keepWaiting: boolean
  /** Buffer events for `handle.events` (only `start()` exposes them). */
  readonly buffer: boolean
  /** Usage already spent by this run (a continued run brings its journal's totals). */
  readonly usage?: UsageTotals
  /** A resumed run: what its journal says already happened. */
  readonly replay?: Replay
  /** The claim under which a resumed run executes: losing it stops the run here. */
  readonly claim?: RunClaim
  /** Events already journaled for this execution (a delivered decision) that observers should still see. */
  readonly announce?: readonly RunEvent[]
}

/**
 * Creates the actor of one run (new, or restored from a snapshot), wires journaling, pauses at
 * human steps and settles with the run result.
 */
export const execute = (graph: PipelineGraph, machine: PipelineMachine, config: ExecutionOptions): Execution => {
  const { runId, runOptions, keepWaiting, replay } = config
  const journal = runOptions.journal ?? discardingJournal
  const stream = config.buffer ? new EventStream() : undefined
  const redaction = redactor(runOptions.redact)
  const listeners = [...(runOptions.onEvent === undefined ? [] : [runOptions.onEvent]), ...(runOptions.observers ?? [])]
  const writer = journalWriter({
    journal,
    redaction,
    listeners,
    stream,
    replay,
    seq: config.seq,
    ...(runOptions.journalTimeout === undefined ? {} : { timeoutMs: toMillis(runOptions.journalTimeout, "journalTimeout") }),
    // The run stops where it is, with the JournalError as its error: no more user code runs.
    onFailure: (error) => {
      if (actor.getSnapshot().status === "active") actor.send({ type: machineEvents.cancel, reason: error.message, error })
    },
  })
  const { record, notify } = writer
  // The `drain` option: no new step once it aborts; the run stops without ending (run/drain.ts).
  const drain = runDrain({ runId, graph, signal: runOptions.drain, halt: writer.halt })
  const onJournalFailure = writer.fail
  const startedAt = Date.now()
  const actor = createActor(machine, {
    ...("snapshot" in config.from ? { snapshot: config.from.snapshot as SnapshotFrom<PipelineMachine> } : {}),
    input: {
      input: "input" in config.from ? config.from.input : undefined,
      runId,
      ...(replay === undefined || replay.deadlines.size === 0 ? {} : { deadlines: Object.fromEntries(replay.deadlines) }),
    },
    ...(runOptions.inspect === undefined ? {} : { inspect: runOptions.inspect }),
    // An engine that keeps human deadlines durably (Restate) gives a clock whose timers never fire.
    clock: runOptions.executor?.clock ?? longTimerClock,
  })
  // A step actor starts before the parent's subscribers hear of the new state, so both places
  // note the state: the route is journaled once, before the step's own events.
  // A compound step's value is `{ step: subState }` (agents, parallel steps): routes are between steps, so read the step.
  let previous = topState(actor.getSnapshot().value)
  let previousVisit = actor.getSnapshot().context.visits[previous] ?? 0
  const noteState = (state: string, visit: number): boolean => {
    if (state === previous && visit === previousVisit) return false
    void record({ type: "route.taken", runId, from: previous, to: state, at: Date.now() })
    previous = state
    previousVisit = visit
    return true
  }
  let usage = config.usage ?? emptyUsage
  const thread = threadSession(runId, runOptions, graph.steps, replay?.thread)
  // Paused inside fan-out: the actor stops and its waiting units are cancelled, which journals nothing.
  let pausedInFanout = false
  // The last wait, decision or expiry this execution appended (a delivered decision, to begin with):
  // stores show a run's status and deadline from it, so a pause inside fan-out may announce its wait again.
  let lastLifecycle: RunEvent | undefined = config.announce?.at(-1)
  const recordStep = (event: RunEvent) => {
    if (!drain.admit(event)) return
    if (pausedInFanout) return
    const replayed = (replay?.journaled.get(eventKey(event)) ?? 0) > 0
    if (!replayed && (event.type === "human.waiting" || event.type === "human.decided" || event.type === "human.expired")) lastLifecycle = event
    // Only the pipeline's own steps move it; branches, items and nested steps journal under a path.
    if (event.type === "step.started" && graph.steps.has(event.step)) noteState(event.step, event.visit)
    if (event.type === "step.finished" && event.thread !== undefined) thread?.collect(event.thread)
    if ((event.type === "step.finished" || event.type === "step.failed") && event.usage !== undefined) usage = addUsage(usage, event.usage)
    return record(event)
  }
  const budget = runOptions.budget ?? graph.budget
  // Waits inside fan-out: when nothing else can progress, a run that does not keep waiting pauses.
  const board = waitBoard((waits) => void pauseInFanout(waits).catch(endedBadly))
  attachServices(actor.system, {
    waits: board,
    runId,
    models: runOptions.models ?? {},
    record: recordStep,
    journalFailure: writer.failure,
    emit: notify,
    prices: { ...defaultPrices, ...runOptions.prices },
    ...(replay === undefined ? {} : { replay }),
    ...(thread === undefined ? {} : { thread: thread.current }),
    ...(runOptions.inspect === undefined ? {} : { inspect: runOptions.inspect }),
    ...(budget === undefined ? {} : { budget }),
    usage: () => usage,
    startedAt,
    ...(runOptions.executor === undefined ? {} : { executor: runOptions.executor }),
    pipeline: graph.id,
    ...(runOptions.modelCache === undefined ? {} : { modelCache: runOptions.modelCache }),
    ...(runOptions.limits === undefined ? {} : { limits: runOptions.limits }),
  })
  let resolveSettled: (result: RunResult<never>) => void = () => {}
  let resolveFinal: (result: RunResult<never>) => void = () => {}
  const settled = new Promise<RunResult<never>>((resolve) => (resolveSettled = resolve))
  const final = new Promise<RunResult<never>>((resolve) => (resolveFinal = resolve))
  let finished = false
  const saveSnapshot = async () => {
    // Persisting walks the whole context (an agent's conversation, every output): not for a journal that keeps nothing.
    if (writer.failure() !== undefined || journal === discardingJournal) return
    try {
      // Its errors are redacted like the journal's copies; outputs stay exact for the resume.
      const saved = journal.saveSnapshot(runId, redaction.snapshot(actor.getPersistedSnapshot()))
      if (saved instanceof Promise) await writer.bounded(saved, `the snapshot of run ${runId}`)
    } catch (error) {
      onJournalFailure(error)
    }
  }
  const finish = async (output: MachineOutput) => {
    if (finished) return
    finished = true
    const unsaved = output.status === "done" ? await thread?.save(output.steps, record) : undefined
    if (unsaved !== undefined) {
      // Not journaled as finished: resuming the run replays its steps to done and saves the thread again.
      const failed = toRunResult(runId, { ...output, status: "failed", error: redaction.error(unsaved) }, Date.now() - startedAt, usage)
      stream?.close()
      resolveSettled(failed as RunResult<never>)
      resolveFinal(failed as RunResult<never>)
      return
    }
    await record({
      type: "run.finished",
      runId,
      status: output.status as "done" | "failed" | "stopped",
      durationMs: Date.now() - startedAt,
      ...(output.error === null ? {} : { error: output.error }),
      ...(output.stoppedBy === null ? {} : { stoppedBy: output.stoppedBy }),
      at: Date.now(),
    })
    await saveSnapshot()
    // A run whose journal stopped it, or that could not journal its end, is not finished: it says
    // so with the JournalError, and a resume continues it from its last durable event.
    const refused = writer.failure()
    const ended = refused === undefined ? output : { ...output, status: "failed" as const, error: refused, stoppedBy: null }
    // The result is read, logged and shown like the journal: its error is redacted the same way.
    const result = toRunResult(runId, ended.error === null ? ended : { ...ended, error: redaction.error(ended.error) }, Date.now() - startedAt, usage)
    stream?.close()
    resolveSettled(result as RunResult<never>)
    resolveFinal(result as RunResult<never>)
  }
  // Paused to the journal: nothing of this run (no timer, no actor) stays in memory.
  const settleAt: Parameters<typeof humanPauses>[0]["settle"] = ({ step, prompt, deadline, snapshot, pending }) => {
    // The pause was not saved whole (its snapshot write failed): say so instead of waiting.
    const refused = writer.failure()
    if (refused !== undefined) return endWith(refused)
    actor.stop()
    stream?.close()
    const visit = snapshot.context.visits[step] ?? 1
    resolveSettled({
      status: "awaiting-human",
      runId,
      step,
      ...(prompt === undefined ? {} : { prompt }),
      deadline,
      pending: pending ?? [
        { path: step, step, visit, ...(prompt === undefined ? {} : { prompt }), deadline, decision: decisionSchemaOf(graph.steps.get(step)) },
      ],
      steps: snapshot.context.steps,
      durationMs: Date.now() - startedAt,
      usage,
    } as unknown as RunResult<never>)
  }
  const { arriveAtHuman, arriveAtApproval, refuseLate } = humanPauses({
    graph,
    runId,
    replay,
    keepWaiting,
    actor,
    record,
    saveSnapshot,
    thread: () => thread?.current() ?? noThread,
    settle: settleAt,
    failed: (error) => endedBadly(error),
  })
  // Every open wait inside fan-out, addressed by its path; the run's `step`, `prompt` and `deadline` are those of the one due first.
  const pauseInFanout = async (waits: readonly OpenWait[]) => {
    if (keepWaiting || finished) return
    await saveSnapshot()
    const open = board.waits()
    const snapshot = actor.getSnapshot()
    // Something moved on while the snapshot was saved: the run goes on, and pauses when quiet again.
    if (open.length === 0 || open.length !== waits.length || snapshot.status !== "active" || finished) return
    const pending: PendingDecision[] = open.map((wait) => ({
      path: wait.path,
      step: topStepOf(wait.path),
      visit: wait.visit,
      ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
      deadline: wait.deadline,
      decision: decisionSchemaOf(stepAt(graph, wait.path)),
    }))
    const first = pending.reduce((due, wait) => ((wait.deadline ?? Number.POSITIVE_INFINITY) < (due.deadline ?? Number.POSITIVE_INFINITY) ? wait : due))
    // A store keeps a run's status and deadline from its last wait, decision or expiry: after a
    // decision (the run is waiting again) or when the wait due first is not the last one written,
    // the journal says again that the run waits, with the deadline due first (a worker wakes for it).
    const last = lastLifecycle
    const announced = last?.type === "human.waiting" && (last.deadline ?? null) === first.deadline && open.some((wait) => wait.path === last.step)
    if (!announced) {
      const again: RunEvent = {
        type: "human.waiting",
        runId,
        step: first.path,
        visit: first.visit,
        ...(first.prompt === undefined ? {} : { prompt: first.prompt }),
        ...(first.deadline === null ? {} : { deadline: first.deadline }),
        at: Date.now(),
      }
      // Earlier pauses' announcements are in the journal too: this one is new, not one of theirs replayed.
      replay?.journaled.set(eventKey(again), 0)
      await recordStep(again)
    }
    if (board.waits().length !== open.length || finished) return
    pausedInFanout = true
    settleAt({ step: first.step, prompt: first.prompt, deadline: first.deadline, snapshot, pending })
  }
  actor.subscribe({
    next: (snapshot) => {
      const value = topState(snapshot.value)
      if (noteState(value, snapshot.context.visits[value] ?? 0) && graph.steps.get(value)?.kind === "human") arriveAtHuman(value, snapshot)
      if (snapshot.context.status === "awaiting-human" && graph.steps.get(value)?.kind === "agent") arriveAtApproval(snapshot)
      if (snapshot.status === "done") void finish(snapshot.output as MachineOutput).catch(endedBadly)
    },
    error: (error) => {
      // The machine itself threw (a bug here or in a provided implementation): the run ends failed.
      const runError = serializeStepError(previous, error)
      void finish({ status: "failed", steps: actor.getSnapshot().context?.steps ?? {}, last: null, error: runError, stoppedBy: null }).catch(endedBadly)
    },
  })
  const onAbort = () => {
    // A run cancelled while it drains stops without ending: its journal keeps it running.
    drain.beforeCancel()
    if (actor.getSnapshot().status === "active") actor.send({ type: machineEvents.cancel, reason: String(runOptions.signal?.reason ?? "aborted") })
  }
  const handle: RunHandle<never> = {
    id: runId,
    events: stream ?? closedStream(),
    result: final,
    send: (step: string, decision: unknown) => {
      // A wait inside fan-out, by its path: checked against its own step's schema and deadline.
      const open = board.at(step)
      if (open !== undefined) {
        const parsed = open.check(decision)
        void record({ type: "human.decided", runId, step, visit: open.visit, decision: parsed, at: Date.now() })
        return open.deliver(parsed)
      }
      const expiredAt = board.expired(step)
      if (expiredAt !== undefined)
        throw new DecisionError("late", `decision for "${step}" refused: its deadline passed at ${new Date(expiredAt).toISOString()}; the run is unchanged`)
      if (!graph.steps.has(step)) {
        const known = board.waits().map((wait) => wait.path)
        throw new DecisionError(
          "not-waiting",
          `run ${runId} is not waiting on "${step}"${known.length === 0 ? "" : ` (it waits on ${known.map((path) => `"${path}"`).join(", ")})`}`,
        )
      }
      const snapshot = actor.getSnapshot()
      // After the deadline the timeout route applies, not the decision (run/human-pause.ts); an
      // engine that keeps deadlines itself (its clock's timers never fire) is their judge instead.
      if (runOptions.executor?.clock === undefined) refuseLate(step, snapshot)
      const parsed = checkDecision(graph, stateNameOf(snapshot.value), snapshot.status, step, decision)
      void record({ type: "human.decided", runId, step, visit: snapshot.context.visits[step] ?? 1, decision: parsed, at: Date.now() })
      actor.send({ type: machineEvents.decide(step), decision: parsed })
    },
    cancel: (reason) => actor.send({ type: machineEvents.cancel, ...(reason === undefined ? {} : { reason }) }),
    actor,
  }
  // Ending or pausing the run failed itself (a thread store that threw, say), where nothing awaits
  // it: the run still settles, failed, instead of leaving a rejection that nobody handles.
  const endedBadly = (error: unknown) => endWith(serializeStepError(previous, error))
  const endWith = (error: RunError) => {
    const runError = redaction.error(error)
    const failed = toRunResult(
      runId,
      { status: "failed", steps: actor.getSnapshot().context?.steps ?? {}, last: null, error: runError, stoppedBy: null },
      Date.now() - startedAt,
      usage,
    )
    stream?.close()
    resolveSettled(failed as RunResult<never>)
    resolveFinal(failed as RunResult<never>)
  }
  const start = (first?: RunEvent): Promise<void> => begin(first).catch(endedBadly)
  const begin = async (first?: RunEvent) => {
    executingHere.add(runId)
    void settled.finally(() => executingHere.delete(runId))
    let claim = config.claim
    if (config.seq === 0 && journal.claim !== undefined) {
      // A new run is claimed like a resumed one, so no worker anywhere takes it meanwhile.
      claim = (await boundedClaim(journal, runId, writer.timeoutMs).catch((error: unknown) => onJournalFailure(error))) ?? undefined
      if (claim === undefined && writer.failure() === undefined) onJournalFailure(new RunClaimedError(runId))
      else void settled.finally(() => claim?.release().catch(() => {}))
    }
    // Whoever holds the run now may execute it: stop here, appending nothing more.
    const lost = () =>
      onJournalFailure(
        new ClaimLostError(runId, String(claim?.signal?.reason instanceof Error ? claim.signal.reason.message : (claim?.signal?.reason ?? "released"))),
      )
    if (claim?.signal?.aborted === true) lost()
    else claim?.signal?.addEventListener("abort", lost, { once: true })
    if (first !== undefined) await record(first)
    const threadFailure = await thread?.load(record)
    if (threadFailure !== undefined) return finish({ status: "failed", steps: {}, last: null, error: threadFailure, stoppedBy: null })
    for (const event of config.announce ?? []) notify(event)
    if (runOptions.signal?.aborted === true) onAbort()
    runOptions.signal?.addEventListener("abort", onAbort, { once: true })
    void settled.finally(() => runOptions.signal?.removeEventListener("abort", onAbort))
    actor.start()
    void settled.finally(drain.listen())
    const initial = actor.getSnapshot()
    if ("input" in config.from && initial.status === "active" && graph.steps.get(initial.value as unknown as string)?.kind === "human") {
      arriveAtHuman(initial.value as unknown as string, initial)
    }
  }
  return { handle, settled, start }
}

/** An event stream that has already ended. */
export const closedStream = () => {
  const stream = new EventStream()
  stream.close()
  return stream
}
