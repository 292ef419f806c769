import type { InspectionEvent } from "xstate"
import type { StepError } from "../contract/errors.ts"
import type { Models } from "../contract/model.ts"
import type { PriceTable } from "./prices.ts"
import type { ResolvedPolicy, StepPolicy } from "../definition/policy.ts"
import type { RunEvent, UsageTotals } from "../contract/events.ts"
import type { Budget } from "../definition/agent-stop-rules.ts"
import type { Replay } from "./replay.ts"
import type { StepContext } from "../definition/step.ts"
import type { Thread } from "../contract/thread.ts"
import type { StepExecutor } from "./executor.ts"

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
}


/**
 * The name a step's events are journaled (and replayed) under: inside a nested pipeline it is
 * prefixed with the parent's path (`summarise[3].classify`).
 *
 * @example
 * journaledName({ path: "summarise[3]." }, "classify") // "summarise[3].classify"
 */
export const journaledName = (services: { readonly path?: string | undefined }, step: string): string => `${services.path ?? ""}${step}`

export type Base = { readonly runId: string; readonly step: string; readonly visit: number }
export type UsageTally = { inputTokens: number; outputTokens: number; cachedInputTokens: number; costUsd: number; calls: number; unpricedCalls: number }

/** Everything one execution of a step shares with its kind's program. */
export interface StepRun {
  readonly name: string
  readonly context: StepContext<unknown, Record<string, unknown>>
  readonly policy: ResolvedPolicy
  readonly services: RunServices
  readonly onRetry: (attempt: number, error: StepError, delayMs: number) => void
  readonly usage: UsageTally
  readonly base: Base
  readonly tally: { attempts: number }
  /** The pipeline's default policy: steps run inside this one (map items) start from it. */
  readonly pipelinePolicy?: StepPolicy | undefined
}

