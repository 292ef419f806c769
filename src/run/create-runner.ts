import { randomUUID } from "node:crypto"
import type { createActor, InspectionEvent } from "xstate"
import type { z } from "zod"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import type { DurationInput } from "../contract/duration.ts"
import { type RunError, serializeStepError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { Journal, JournalEntry } from "../contract/journal.ts"
import type { Models } from "../contract/model.ts"
import type { ModelCache } from "../contract/model-cache.ts"
import type { Redaction } from "../contract/redaction.ts"
import type { ThreadStore } from "../contract/thread.ts"
import { emptyUsage } from "../contract/usage.ts"
import type { Budget } from "../definition/agent-stop-rules.ts"
import { isRecord } from "../definition/check-arguments.ts"
import type { PipelineDefinition, PipelineGraph } from "../definition/graph.ts"
import type { ApprovalDecision } from "../definition/steps/approval.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { structureOf } from "../definition/structure.ts"
import { followDeadline } from "./deadline-timer.ts"
import { checkDecisionAt } from "./decisions.ts"
import { closedStream, type Execution, execute } from "./execution.ts"
import type { StepExecutor } from "./executor.ts"
import { type ForkOptions, forkRun } from "./fork.ts"
import type { ModelLimits } from "./model-limits.ts"
import { type DecideOptions, decideOptions, notePaused, withPauseJournal } from "./paused-runs.ts"
import type { PriceTable } from "./prices.ts"
import { DecisionError, type RunResult, validateInput } from "./result.ts"
import { decideRun, type ResumeOptions, resumeRun } from "./resume.ts"
import { retryRun } from "./retry.ts"
import { runOptionProblems } from "./run-options.ts"

/**
 * Options of one run.
 *
 * @example
 * const options: RunOptions = { models: { fast: scriptedModel(["ok"]) }, journal: memoryJournal() }
 */
export interface RunOptions {
  /** Models by alias, for `llm` steps that name one. */
  readonly models?: Models
  /** Where events go, in order, before the run moves on (default: nowhere; observers still see them). */
  readonly journal?: Journal
  readonly runId?: string
  /** Aborting it cancels the run: the in-flight step's signal fires and the run ends `failed`. */
  readonly signal?: AbortSignal
  /**
   * Aborting it drains the run (a deploy, a SIGTERM): no new step starts, the step in flight may
   * finish, then the run stops without ending: its journal keeps it `running` for any process to
   * resume, and this call resolves `failed` with a `CancelledError` saying it was drained.
   * Aborting `signal` while it drains stops the step in flight the same way (nothing more journaled).
   */
  readonly drain?: AbortSignal
  /** Called with every event, after it is journaled (redacted: see `redact`). */
  readonly onEvent?: (event: RunEvent) => void
  /** More listeners like `onEvent`: a step log, OpenTelemetry spans, a progress view. */
  readonly observers?: ReadonlyArray<(event: RunEvent) => void>
  /** Fields to hide from call records, logs, spans and errors; API keys are always masked there. */
  readonly redact?: Redaction
  /** Prices (USD per million tokens) by `provider:model` or model id, over the built-in table. */
  readonly prices?: PriceTable
  /** XState inspection observer (e.g. from `@statelyai/inspect`). */
  readonly inspect?: (event: InspectionEvent) => void
  /** A conversation thread this run continues: loaded from `threads` at the start (`ctx.thread`), saved when the run is done. */
  readonly threadId?: string
  /** Where threads live (`memoryThreadStore()`, `sqliteThreadStore(path)`); needed with `threadId`, and to resume such a run. */
  readonly threads?: ThreadStore
  /** A budget for the whole run (over the pipeline's): an agent step that reaches it stops the run (`stoppedBy.rule` "run budget(...)"). */
  readonly budget?: Budget
  /** Where each step visit runs: an engine such as `switchboard/restate` journals it durably (default: directly here). */
  readonly executor?: StepExecutor
  /**
   * How long one journal operation (a write, a claim, a snapshot) may take before the run stops
   * with a `JournalError` of reason `timeout` (default `"30s"`): a stalled store cannot hang a
   * run, or its `cancel()`, for longer.
   */
  readonly journalTimeout?: DurationInput
  /**
   * A response cache for development and evaluation (`memoryModelCache()`, `sqliteModelCache(path)`):
   * a model call whose provider, model and whole request were answered before is answered from it,
   * without a call, and journaled with `cached: true` and usage 0. Off unless given.
   */
  readonly modelCache?: ModelCache
  /**
   * Limits by `provider:model` shared by every branch, map item, agent turn and run in this
   * process that calls the model (over `setModelLimits(...)`): `{ inFlight, requestsPerMinute, tokensPerMinute }`.
   */
  readonly limits?: ModelLimits
}

/**
 * The address of a wait inside one of the pipeline's steps: a branch (`brief.legal`), a map item
 * (`refunds[2]`), a nested pipeline's step (`orders[1].approve`, `refund#2.check`).
 *
 * @example
 * const address: FanoutAddress<{ refunds: unknown }> = "refunds[2]"
 */
export type FanoutAddress<TSteps> = `${keyof TSteps & string}${"." | "[" | "#"}${string}`

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
  /** Approves, rejects or edits the tool call an agent step waits on. */
  send(step: keyof TSteps & string, decision: ApprovalDecision): void
  /** Delivers the decision of a wait inside fan-out, by its address (`brief.legal`, `refunds[2]`). */
  send(path: FanoutAddress<TSteps>, decision: unknown): void
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
export interface Pipeline<TInput, TSteps> extends PipelineDefinition<TInput, TSteps> {
  /** The compiled XState v5 machine: `createActor(p.machine, { input: { input } })`. */
  readonly machine: PipelineMachine
  /**
   * Runs until done, failed, stopped, or a human step is reached (then `awaiting-human`). Never
   * rejects: input that fails the schema fails the run (`InputValidationError`), options of the
   * wrong type or a misspelt option fail it (`ConfigurationError` naming the option), both before
   * anything is journaled. (A wrong definition never gets this far: the builder throws.)
   */
  run(input: TInput, options?: RunOptions): Promise<RunResult<TSteps>>
  /** Starts a run and returns its handle; human steps wait in memory for `handle.send`. Never throws: a run refused like `run()`'s has a failed `result`. */
  start(input: TInput, options?: RunOptions): RunHandle<TSteps>
  /**
   * Continues a run from its journal after a crash, a restart or a pause: finished steps are not
   * run again (their outputs come from the journal), the step in flight runs again with the same
   * idempotency key. Throws a {@link ResumeError} (nothing written) when the run cannot be resumed.
   */
  resume(runId: string, options: ResumeOptions): Promise<RunResult<TSteps>>
  /**
   * Continues a failed or cancelled run from the step that failed: finished steps, branches and
   * map items come from the journal, only the failed ones run again (a new attempt, journaled
   * after a `run.retried`). Not `resume`: a recorded failure is an answer that `resume` never
   * redoes, so retrying, which spends again, is asked for by name (see `retryRun`). Throws a
   * `RetryError` (nothing written) for a run that is done, stopped, waiting or not finished.
   */
  retry(runId: string, options: ResumeOptions): Promise<RunResult<TSteps>>
  /**
   * Starts a new run (new id) from a recorded one: what the source journaled before `at` is
   * copied without running, `edit` may replace the input, a finished step's output or a human
   * decision, and the steps from `at` on run. Its `run.started` says `forkedFrom: { runId, seq }`.
   * Throws a `ForkError` (the source unchanged) for a point not in the journal or a bad edit.
   */
  fork(runId: string, options: ForkOptions): Promise<RunResult<TSteps>>
  /**
   * Journals a new run without executing it, for a worker to take. Resolves with the run id;
   * rejects with a `RangeError` naming each invalid input field (nothing journaled).
   */
  submit(input: TInput, options: { readonly journal: Journal; readonly runId?: string }): Promise<string>
  /**
   * Delivers a decision to a run paused on a human step (by `run()`, or in another process) and
   * continues it. Throws a {@link DecisionError} (run unchanged) for a run not waiting on `step`
   * or an invalid decision, a {@link ResumeError} for a run that cannot be resumed.
   */
  decide<TStep extends keyof TSteps & string>(runId: string, step: TStep, decision: TSteps[TStep], options?: DecideOptions): Promise<RunResult<TSteps>>
  /** Approves, rejects or edits the tool call an agent step waits on, and continues the run. */
  decide(runId: string, step: keyof TSteps & string, decision: ApprovalDecision, options?: DecideOptions): Promise<RunResult<TSteps>>
  /**
   * Delivers a decision to a wait inside fan-out, by its address (`result.pending[i].path`:
   * `brief.legal`, `refunds[2]`, `orders[1].approve`), and continues the run; its siblings that
   * finished are not run again.
   */
  decide(runId: string, path: FanoutAddress<TSteps>, decision: unknown, options?: DecideOptions): Promise<RunResult<TSteps>>
  /**
   * Delivers several decisions at once, by address: all are checked first and journaled in one
   * write (one invalid: a DecisionError naming its address, nothing applied), then the run continues.
   */
  decide(runId: string, decisions: Readonly<Record<string, unknown>>, options?: DecideOptions): Promise<RunResult<TSteps>>
}

/** Builds the run API around a compiled machine. */
export const createRunner = <TInput, TSteps>(
  options: { readonly id: string; readonly description?: string; readonly input: z.ZodType<TInput> },
  graph: PipelineGraph,
  machine: PipelineMachine,
): Pipeline<TInput, TSteps> => {
  // Whatever run() and start() are given, the run settles: wrong options or input fail it at once
  // (nothing journaled), and so does anything that throws while it is set up.
  const begin = (input: unknown, runOptions: RunOptions, keepWaiting: boolean): Execution => {
    const runId = isRecord(runOptions) && typeof runOptions.runId === "string" && runOptions.runId !== "" ? runOptions.runId : randomUUID()
    const problems = runOptionProblems(runOptions)
    if (problems.length > 0) return refused(runId, { _tag: "ConfigurationError", step: "", retryable: false, message: problems.join("; ") })
    try {
      const checked = validateInput(options.input, input)
      if (!checked.success) return refused(runId, checked.error)
      return execute(graph, machine, { runId, runOptions, from: { input: checked.data }, seq: 0, keepWaiting, buffer: keepWaiting })
    } catch (error) {
      return refused(runId, serializeStepError("", error))
    }
  }
  const structure = structureOf(graph)
  const started = (runId: string, input: unknown): RunEvent => ({ type: "run.started", runId, pipeline: options.id, input, structure, at: Date.now() })
  const target = { id: options.id, graph, machine }
  // A run this process paused on a deadline is resumed here when the deadline passes, while the
  // process lives (run/deadline-timer.ts); without a journal there is nothing to resume it from.
  const resume = (runId: string, resumeOptions: ResumeOptions): Promise<RunResult<never>> =>
    resumeRun(target, runId, resumeOptions).then((result) => follow(result, resumeOptions))
  const follow = (result: RunResult<never>, runOptions: RunOptions): RunResult<never> => {
    const journal = runOptions.journal
    return journal === undefined ? result : followDeadline(result, journal, () => resume(result.runId, { ...runOptions, journal }))
  }

  return {
    id: options.id,
    description: options.description,
    input: options.input,
    stepNames: [...graph.steps.keys()] as Array<keyof TSteps & string>,
    machine,
    structure,
    definitions: graph.steps as ReadonlyMap<keyof TSteps & string, AnyStep>,
    run: async (input, given = {}) => {
      // Without a journal, a pipeline that can pause journals to memory, kept while it waits: decide() here continues it.
      const runOptions = isRecord(given) ? withPauseJournal(graph, given) : given
      const execution = begin(input, runOptions, false)
      await execution.start(started(execution.handle.id, input))
      const result = await execution.settled
      notePaused(result, runOptions)
      return (result.status === "awaiting-human" ? follow(result, runOptions) : result) as RunResult<TSteps>
    },
    start: (input, runOptions = {}) => {
      const execution = begin(input, runOptions, true)
      void execution.start(started(execution.handle.id, input))
      return execution.handle as unknown as RunHandle<TSteps>
    },
    submit: async (input, submitOptions) => {
      const checked = validateInput(options.input, input)
      if (!checked.success) throw new RangeError(checked.error.message)
      const runId = submitOptions.runId ?? randomUUID()
      await submitOptions.journal.append({ ...started(runId, checked.data), seq: 0 } as JournalEntry)
      return runId
    },
    resume: (runId, resumeOptions) => resume(runId, resumeOptions) as Promise<RunResult<TSteps>>,
    fork: async (runId, forkOptions) =>
      follow(await forkRun({ ...target, input: options.input as z.ZodType<unknown> }, runId, forkOptions), forkOptions) as RunResult<TSteps>,
    retry: async (runId, retryOptions) => follow(await retryRun(target, runId, retryOptions), retryOptions) as RunResult<TSteps>,
    decide: async (runId: string, ...rest: unknown[]) => {
      // decide(runId, path, decision, options) or decide(runId, { [path]: decision, … }, options).
      const batch = typeof rest[0] !== "string"
      const decisions: Array<readonly [string, unknown]> = batch ? Object.entries((rest[0] ?? {}) as Record<string, unknown>) : [[rest[0] as string, rest[1]]]
      const resumeOptions = decideOptions(runId, (batch ? rest[1] : rest[2]) as DecideOptions | undefined)
      const result = await decideRun(target, runId, decisions, resumeOptions, (path, value) => checkDecisionAt(graph, path, value))
      notePaused(result, resumeOptions)
      return follow(result, resumeOptions) as RunResult<TSteps>
    },
  }
}

// A run that cannot start: failed at once, nothing journaled, no decision can reach it.
const refused = (runId: string, error: RunError): Execution => {
  const failed = { status: "failed", runId, error, steps: {}, durationMs: 0, usage: emptyUsage } as unknown as RunResult<never>
  const refuse = () => {
    throw new DecisionError("not-waiting", `run ${runId} never started: ${error._tag === "InputValidationError" ? "its input is invalid" : error.message}`)
  }
  const handle = { id: runId, events: closedStream(), result: Promise.resolve(failed), send: refuse, cancel: () => {}, actor: undefined as never }
  return { handle, settled: Promise.resolve(failed), start: async () => {} }
}
