import type { AnyActorRef, InspectionEvent } from "xstate"
import type { RunContext, StepDone } from "../compile/run-context.ts"
import type { RunError } from "../contract/errors.ts"
import type { RunEvent, UsageTotals } from "../contract/events.ts"
import type { Models } from "../contract/model.ts"
import type { ModelCache } from "../contract/model-cache.ts"
import type { Thread } from "../contract/thread.ts"
import type { Budget } from "../definition/agent-stop-rules.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import type { ResolvedPolicy, StepPolicy } from "../definition/policy.ts"
import type { StepContext } from "../definition/steps/step.ts"
import type { AttemptScope } from "./attempt.ts"
import type { StepExecutor } from "./executor.ts"
import type { ModelLimits } from "./model-limits.ts"
import { defaultPrices, type PriceTable } from "./prices.ts"
import type { Replay } from "./replay.ts"
import type { BusyToken, WaitBoard } from "./wait-board.ts"

/**
 * What a run lends its steps: models by alias, and where events go.
 *
 * @example
 * const quiet = (services: RunServices): RunServices => ({ ...services, emit: () => {} })
 */
export interface RunServices {
  readonly runId: string
  readonly models: Models
  /** Appends to the journal (awaited before the machine moves on) and notifies listeners. */
  readonly record: (event: RunEvent) => void | Promise<void>
  /** Why the run's journal stopped the run (a refused write, a lost claim), once it has: no more user code may start. */
  readonly journalFailure?: () => RunError | undefined
  /** Notifies listeners without journaling (streamed text). */
  readonly emit: (event: RunEvent) => void
  readonly prices: PriceTable
  /** A resumed run: what its journal says each step visit already did. */
  readonly replay?: Replay
  /** The run's thread, for `ctx.thread` (runs with a `threadId`). */
  readonly thread?: () => Thread
  /** Prefix of the step names this actor system journals (a nested pipeline's `summarise.`). */
  readonly path?: string
  /** The run's XState inspection observer: nested pipelines' actors report to it too. */
  readonly inspect?: (event: InspectionEvent) => void
  /** The run-level budget agents check (run option, else the pipeline's). */
  readonly budget?: Budget
  /** Usage of the run's finished steps so far. */
  readonly usage?: () => UsageTotals
  /** When this execution of the run started (epoch ms). */
  readonly startedAt?: number
  /** Where each step visit runs when an engine (e.g. Restate) journals it; default: here, directly. */
  readonly executor?: StepExecutor
  /** The decisions the run waits for inside fan-out, and its busy work (run/wait-board.ts). */
  readonly waits?: WaitBoard
  /** The busy token of the unit this step runs as (a branch, an item): a container gives it back while only its children run. */
  readonly busy?: BusyToken
  /** The pipeline's id: part of the prompt-cache key of its steps. */
  readonly pipeline?: string
  /** Answers of earlier identical model calls (run option `modelCache`). */
  readonly modelCache?: ModelCache
  /** Shared limits by `provider:model` (run option `limits`, over the process's). */
  readonly limits?: ModelLimits
}

export type Base = { readonly runId: string; readonly step: string; readonly visit: number }
export type UsageTally = { inputTokens: number; outputTokens: number; cachedInputTokens: number; costUsd: number; calls: number; unpricedCalls: number }

/** Runs one visit of a step (run/execute-step.ts), passed to the steps that run steps inside them. */
export type ExecuteStep = (
  graph: PipelineGraph,
  stepName: string,
  policy: ResolvedPolicy,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
) => Promise<StepDone>

/** Everything one execution of a step shares with its kind's program. */
export interface StepRun {
  readonly name: string
  readonly context: StepContext<unknown, Record<string, unknown>>
  readonly policy: ResolvedPolicy
  readonly services: RunServices
  /** What the step's attempts share (policy, signal, deadline, retries): see run/attempt.ts. */
  readonly scope: AttemptScope
  /** Journals an event of this step; a refused write stops its user code (run/step-journal.ts). */
  readonly record: (event: RunEvent) => void | Promise<void>
  readonly usage: UsageTally
  readonly base: Base
  readonly tally: { attempts: number }
  /** Runs a step inside this one (a map item): the executor itself. */
  readonly executeStep: ExecuteStep
  /** The pipeline's default policy: steps run inside this one (map items) start from it. */
  readonly pipelinePolicy?: StepPolicy | undefined
}

// Runs attach their services to the XState system they create; a machine driven with plain
// XState (no run) gets defaults, so `createActor(p.machine)` still works.
const servicesBySystem = new WeakMap<object, RunServices>()

/** The services a run attached to this actor system, if any. */
export const servicesOf = (system: object): RunServices | undefined => servicesBySystem.get(system)

/** Attaches a run's services to an actor system before the actor starts. */
export const attachServices = (system: object, services: RunServices): void => {
  servicesBySystem.set(system, services)
}

/**
 * The services of the actor system an actor runs in: its run's, or, for a machine driven without
 * a run (`createActor(p.machine)`), defaults with no journal and no models.
 *
 * @example
 * const services = servicesFor(system, context.runId)
 */
export const servicesFor = (system: unknown, runId: string): RunServices =>
  servicesBySystem.get(system as object) ?? { runId, models: {}, record: () => {}, emit: () => {}, prices: defaultPrices }

/**
 * The context of the pipeline machine that invoked an actor (a step, an agent's turn or tools).
 *
 * @example
 * const context = invokerContext(self)
 */
export const invokerContext = (self: AnyActorRef): RunContext => (self._parent as AnyActorRef | undefined)?.getSnapshot().context as RunContext

// When each parallel step visit started, by run: its `step.finished` reports the whole duration.
const parallelStarts = new WeakMap<object, Map<string, number>>()

/** Notes when a visit (`step#visit`) of a parallel step started. */
export const noteParallelStart = (services: RunServices, key: string, at: number): void => {
  let known = parallelStarts.get(services)
  if (known === undefined) parallelStarts.set(services, (known = new Map()))
  known.set(key, at)
}

/** When this visit of a parallel step started (now, if unknown). */
export const parallelStartedAt = (services: RunServices, key: string): number => parallelStarts.get(services)?.get(key) ?? Date.now()
