import { randomUUID } from "node:crypto"
import { createActor, type InspectionEvent, type SnapshotFrom } from "xstate"
import type { z } from "zod"
import type { RunError } from "../errors.ts"
import type { MachineOutput, PipelineMachine } from "../graph/compile.ts"
import type { Models } from "../models/model.ts"
import { attachServices, type ExecutableGraph } from "../steps/execute.ts"
import type { RunEvent } from "./events.ts"
import { memoryJournal, type Journal } from "./journal.ts"
import { DecisionError, EventStream, type RunResult, validateInput, toRunResult } from "./result.ts"

/**
 * Options of one run.
 *
 * @example
 * const options: RunOptions = { models: { fast: scriptedModel(["ok"]) }, journal: memoryJournal() }
 */
export interface RunOptions {
  /** Models by alias, for `llm` steps that name one. */
  readonly models?: Models
  /** Where events go (default: a fresh in-memory journal). */
  readonly journal?: Journal
  readonly runId?: string
  /** Aborting it cancels the run: the in-flight step's signal fires and the run ends `failed`. */
  readonly signal?: AbortSignal
  /** Called with every event, after it is journaled. */
  readonly onEvent?: (event: RunEvent) => void
  /** XState inspection observer (e.g. from `@statelyai/inspect`). */
  readonly inspect?: (event: InspectionEvent) => void
}

/**
 * A running pipeline: its id, its events, a typed `send` for human decisions, and its result.
 *
 * @example
 * const handle = triage.start({ ticket })
 * for await (const event of handle.events) console.log(event.type)
 * const result = await handle.result
 */
export interface RunHandle<TSteps> {
  readonly id: string
  /** Every event of the run from its start, ending when the run finishes. */
  readonly events: AsyncIterable<RunEvent>
  /** Settles when the run reaches done, failed or stopped (a waiting run keeps it pending). */
  readonly result: Promise<RunResult<TSteps>>
  /** Delivers a human decision; throws a {@link DecisionError} (run unchanged) if it is invalid or unexpected. */
  send<TStep extends keyof TSteps & string>(step: TStep, decision: TSteps[TStep]): void
  /** Cancels the run: the in-flight step is aborted and the run ends `failed` (CancelledError). */
  cancel(reason?: string): void
  /** The underlying XState actor, for inspection. */
  readonly actor: ReturnType<typeof createActor<PipelineMachine>>
}

/**
 * A built pipeline: its machine, and ways to run it.
 *
 * @example
 * const result = await triage.run({ ticket: "I want a refund" }, { models })
 * if (result.status === "done") console.log(result.output)
 */
export interface Pipeline<TInput, TSteps> {
  readonly id: string
  readonly description: string | undefined
  readonly input: z.ZodType<TInput>
  /** Step names in declaration order; the first is where runs start. */
  readonly stepNames: ReadonlyArray<keyof TSteps & string>
  /** The compiled XState v5 machine: `createActor(p.machine, { input: { input } })`. */
  readonly machine: PipelineMachine
  /** Runs until done, failed, stopped, or a human step is reached (then `awaiting-human`). Never throws. */
  run(input: TInput, options?: RunOptions): Promise<RunResult<TSteps>>
  /** Starts a run and returns its handle; human steps wait in memory for `handle.send`. */
  start(input: TInput, options?: RunOptions): RunHandle<TSteps>
  /**
   * Continues a run that `run()` left `awaiting-human`, from its journal's snapshot. Throws a
   * {@link DecisionError} (run unchanged) for an unknown run, a run not waiting on `step`, or an invalid decision.
   */
  decide<TStep extends keyof TSteps & string>(
    runId: string,
    step: TStep,
    decision: TSteps[TStep],
    options: RunOptions & { readonly journal: Journal },
  ): Promise<RunResult<TSteps>>
  /** Phantom: the step outputs, for type helpers. */
  readonly "~steps"?: TSteps
}

interface Execution {
  readonly handle: RunHandle<never>
  /** Settles at the first pause (awaiting-human) or at the end. */
  readonly settled: Promise<RunResult<never>>
  /** Journals `first` (if any), then starts the actor. */
  readonly start: (first?: RunEvent) => Promise<void>
}

interface ExecutionOptions {
  readonly runId: string
  readonly runOptions: RunOptions
  readonly from: { readonly input: unknown } | { readonly snapshot: unknown }
  /** Journal position of the next event (0 for a new run). */
  readonly seq: number
  /** `start()` keeps a waiting run in memory; `run()` and `decide()` pause it to the journal. */
  readonly keepWaiting: boolean
  /** Buffer events for `handle.events` (only `start()` exposes them). */
  readonly buffer: boolean
}

const execute = (graph: ExecutableGraph, machine: PipelineMachine, config: ExecutionOptions): Execution => {
  const { runId, runOptions, keepWaiting } = config
  const journal = runOptions.journal ?? memoryJournal()
  const stream = config.buffer ? new EventStream() : undefined
  let seq = config.seq
  let pending: Promise<void> | undefined
  let journalFailure: RunError | undefined
  // A journal that cannot write ends the run (failed) instead of crashing the process: nothing
  // after the last durable event is claimed as done.
  const onJournalFailure = (error: unknown) => {
    if (journalFailure !== undefined) return
    const message = `journal write failed: ${error instanceof Error ? error.message : String(error)}`
    journalFailure = { _tag: "CancelledError", message: `run cancelled: ${message}` }
    actor.send({ type: "run.cancel", reason: message })
  }
  const notify = (event: RunEvent) => {
    stream?.push(event)
    try {
      runOptions.onEvent?.(event)
    } catch {
      // A listener's bug must not change the run; the journal still has the event.
    }
  }
  // Appends in order; stays synchronous while the journal is (memory), chains when it is not.
  const append = (event: RunEvent): void | Promise<void> => {
    if (journalFailure !== undefined) return
    const entry = { ...event, seq }
    let written: void | Promise<void>
    try {
      written = journal.append(entry)
    } catch (error) {
      return onJournalFailure(error)
    }
    seq++
    if (written instanceof Promise) return written.then(() => notify(event), onJournalFailure)
    notify(event)
  }
  const record = (event: RunEvent): void | Promise<void> => {
    if (pending !== undefined) return (pending = pending.then(() => append(event)))
    const written = append(event)
    if (written instanceof Promise) {
      const chained: Promise<void> = written.finally(() => {
        if (pending === chained) pending = undefined
      })
      pending = chained
      return chained
    }
  }
  const startedAt = Date.now()
  const actor = createActor(machine, {
    ...("snapshot" in config.from ? { snapshot: config.from.snapshot as SnapshotFrom<PipelineMachine> } : {}),
    input: { input: "input" in config.from ? config.from.input : undefined, runId },
    ...(runOptions.inspect === undefined ? {} : { inspect: runOptions.inspect }),
  })
  // A step actor starts before the parent's subscribers hear of the new state, so both places
  // note the state: the route is journaled once, before the step's own events.
  let previous = actor.getSnapshot().value as unknown as string
  let previousVisit = actor.getSnapshot().context.visits[previous] ?? 0
  const noteState = (state: string, visit: number): boolean => {
    if (state === previous && visit === previousVisit) return false
    void record({ type: "route.taken", runId, from: previous, to: state, at: Date.now() })
    previous = state
    previousVisit = visit
    return true
  }
  const recordStep = (event: RunEvent) => {
    if (event.type === "step.started") noteState(event.step, event.visit)
    return record(event)
  }
  attachServices(actor.system, { runId, models: runOptions.models ?? {}, record: recordStep })
  let resolveSettled: (result: RunResult<never>) => void = () => {}
  let resolveFinal: (result: RunResult<never>) => void = () => {}
  const settled = new Promise<RunResult<never>>((resolve) => (resolveSettled = resolve))
  const final = new Promise<RunResult<never>>((resolve) => (resolveFinal = resolve))
  let finished = false
  const saveSnapshot = async () => {
    if (journalFailure !== undefined) return
    try {
      await journal.saveSnapshot(runId, actor.getPersistedSnapshot())
    } catch (error) {
      onJournalFailure(error)
    }
  }
  const finish = async (output: MachineOutput) => {
    if (finished) return
    finished = true
    const result = toRunResult(runId, output, Date.now() - startedAt)
    await record({
      type: "run.finished",
      runId,
      status: result.status as "done" | "failed" | "stopped",
      durationMs: Date.now() - startedAt,
      ...(output.error === null ? {} : { error: output.error }),
      ...(output.stoppedBy === null ? {} : { stoppedBy: output.stoppedBy }),
      at: Date.now(),
    })
    await saveSnapshot()
    stream?.close()
    resolveSettled(result as RunResult<never>)
    resolveFinal(result as RunResult<never>)
  }
  const pause = async (step: string, snapshot: SnapshotFrom<PipelineMachine>) => {
    const definition = graph.steps.get(step)
    let prompt: string | undefined
    if (definition?.kind === "human" && definition.prompt !== undefined) {
      try {
        const context = snapshot.context
        prompt = definition.prompt({ input: context.input, steps: context.steps, visit: context.visits[step] ?? 1, runId, signal: AbortSignal.abort() })
      } catch (error) {
        prompt = `(prompt of "${step}" threw: ${error instanceof Error ? error.message : String(error)})`
      }
    }
    const deadline = snapshot.context.waiting?.deadline ?? null
    await record({ type: "human.waiting", runId, step, ...(prompt === undefined ? {} : { prompt }), ...(deadline === null ? {} : { deadline }), at: Date.now() })
    await saveSnapshot()
    if (keepWaiting) return
    // Paused to the journal: nothing of this run (no timer, no actor) stays in memory.
    actor.stop()
    stream?.close()
    resolveSettled({ status: "awaiting-human", runId, step, ...(prompt === undefined ? {} : { prompt }), deadline, steps: snapshot.context.steps, durationMs: Date.now() - startedAt } as unknown as RunResult<never>)
  }
  actor.subscribe({
    next: (snapshot) => {
      const value = snapshot.value as unknown as string
      if (noteState(value, snapshot.context.visits[value] ?? 0) && graph.steps.get(value)?.kind === "human") void pause(value, snapshot)
      if (snapshot.status === "done") void finish(snapshot.output as MachineOutput)
    },
    error: (error) => {
      // The machine itself threw (a bug here or in a provided implementation): the run ends failed.
      const runError: RunError = { _tag: "StepCodeError", step: previous, retryable: false, message: error instanceof Error ? error.message : String(error) }
      void finish({ status: "failed", steps: actor.getSnapshot().context?.steps ?? {}, last: null, error: runError, stoppedBy: null })
    },
  })
  const onAbort = () => actor.send({ type: "run.cancel", reason: String(runOptions.signal?.reason ?? "aborted") })
  const handle: RunHandle<never> = {
    id: runId,
    events: stream ?? closedStream(),
    result: final,
    send: (step: string, decision: unknown) => {
      const snapshot = actor.getSnapshot()
      const parsed = checkDecision(graph, snapshot.value as unknown as string, snapshot.status, step, decision)
      void record({ type: "human.decided", runId, step, decision: parsed, at: Date.now() })
      actor.send({ type: `${step}.decide`, decision: parsed })
    },
    cancel: (reason) => actor.send({ type: "run.cancel", ...(reason === undefined ? {} : { reason }) }),
    actor,
  }
  const start = async (first?: RunEvent) => {
    if (first !== undefined) await record(first)
    if (runOptions.signal?.aborted === true) onAbort()
    runOptions.signal?.addEventListener("abort", onAbort, { once: true })
    void settled.finally(() => runOptions.signal?.removeEventListener("abort", onAbort))
    actor.start()
    const initial = actor.getSnapshot()
    if ("input" in config.from && initial.status === "active" && graph.steps.get(initial.value as unknown as string)?.kind === "human") {
      void pause(initial.value as unknown as string, initial)
    }
  }
  return { handle, settled, start }
}

const closedStream = () => {
  const stream = new EventStream()
  stream.close()
  return stream
}

/** Builds the run API around a compiled machine. */
export const createRunner = <TInput, TSteps>(
  options: { readonly id: string; readonly description?: string; readonly input: z.ZodType<TInput> },
  graph: ExecutableGraph,
  machine: PipelineMachine,
): Pipeline<TInput, TSteps> => {
  const begin = (input: unknown, runOptions: RunOptions, keepWaiting: boolean): Execution => {
    const runId = runOptions.runId ?? randomUUID()
    const checked = validateInput(options.input, input)
    if (!checked.success) {
      const failed = { status: "failed", runId, error: checked.error, steps: {}, durationMs: 0 } as unknown as RunResult<never>
      const refuse = () => {
        throw new DecisionError("not-waiting", `run ${runId} never started: its input is invalid`)
      }
      const handle = { id: runId, events: closedStream(), result: Promise.resolve(failed), send: refuse, cancel: () => {}, actor: undefined as never }
      return { handle, settled: Promise.resolve(failed), start: async () => {} }
    }
    return execute(graph, machine, { runId, runOptions, from: { input: checked.data }, seq: 0, keepWaiting, buffer: keepWaiting })
  }
  const started = (runId: string, input: unknown): RunEvent => ({ type: "run.started", runId, pipeline: options.id, input, at: Date.now() })

  return {
    id: options.id,
    description: options.description,
    input: options.input,
    stepNames: [...graph.steps.keys()] as Array<keyof TSteps & string>,
    machine,
    run: async (input, runOptions = {}) => {
      const execution = begin(input, runOptions, false)
      await execution.start(started(execution.handle.id, input))
      return execution.settled as Promise<RunResult<TSteps>>
    },
    start: (input, runOptions = {}) => {
      const execution = begin(input, runOptions, true)
      void execution.start(started(execution.handle.id, input))
      return execution.handle as unknown as RunHandle<TSteps>
    },
    decide: async (runId, step, decision, runOptions) => {
      const snapshot = (await runOptions.journal.loadSnapshot(runId)) as SnapshotFrom<PipelineMachine> | undefined
      if (snapshot === undefined) throw new DecisionError("unknown-run", `no run ${runId} in this journal`)
      const seq = (await runOptions.journal.read(runId)).length
      const execution = execute(graph, machine, { runId, runOptions, from: { snapshot }, seq, keepWaiting: false, buffer: false })
      const waitingOn = (snapshot as { value?: unknown }).value
      if (waitingOn !== step) throw new DecisionError("not-waiting", `run ${runId} is not waiting on "${step}" (it is at "${String(waitingOn)}")`)
      checkDecision(graph, step, "active", step, decision)
      await execution.start()
      const deadline = (snapshot as { context?: { waiting?: { deadline?: number | null } } }).context?.waiting?.deadline
      if (typeof deadline === "number" && deadline <= Date.now()) {
        // The deadline passed while the run was paused: the timeout route wins, as it would have live.
        execution.handle.actor.send({ type: `${step}.expire` })
      } else {
        execution.handle.send(step as never, decision as never)
      }
      return execution.settled as Promise<RunResult<TSteps>>
    },
  }
}

const checkDecision = (graph: ExecutableGraph, current: string, status: string, step: string, decision: unknown): unknown => {
  const definition = graph.steps.get(step)
  if (definition === undefined) throw new DecisionError("not-human-step", `"${step}" is not a step of pipeline "${graph.id}"`)
  if (definition.kind !== "human") throw new DecisionError("not-human-step", `"${step}" is a ${definition.kind} step, not a human step`)
  if (status !== "active" || current !== step) throw new DecisionError("not-waiting", `the run is not waiting on "${step}" (it is at "${current}")`)
  const parsed = definition.decision.safeParse(decision)
  if (!parsed.success) {
    throw new DecisionError("invalid-decision", `decision for "${step}" is invalid`, parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message })))
  }
  return parsed.data
}
