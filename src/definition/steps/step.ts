import type * as Effect from "effect/Effect"
import type { z } from "zod"
import type { DurationInput } from "../../contract/duration.ts"
import type { RunError } from "../../contract/errors.ts"
import type { Message, Model, PromptCacheHint } from "../../contract/model.ts"
import type { Thread } from "../../contract/thread.ts"
import { noRetry, type ResolvedPolicy, resolveStepPolicy, type StepPolicy } from "../policy.ts"
import type { AgentStep } from "./agent.ts"
import type { MapStep, ParallelStep, PipelineStep } from "./fanout-step.ts"
import type { RetrieveStep } from "./retrieve.ts"
import type { Tool } from "./tool.ts"

/**
 * What every step function (prompt, `fn`, tool arguments, route) receives: the run input, the
 * outputs of steps so far, and this step's visit number. Steps declared earlier in the
 * pipeline are typed; any other step's output (a later step in a loop) reads as `unknown`.
 *
 * @example
 * const prompt = ({ input, visit }: StepContext<{ ticket: string }, {}>) => `#${visit}: ${input.ticket}`
 */
export interface StepContext<TInput, TSteps> {
  readonly input: TInput
  readonly steps: Partial<TSteps> & { readonly [step: string]: unknown }
  /** 1 on the first visit of this step, 2 on the second (loops), … */
  readonly visit: number
  readonly runId: string
  /** Aborted when the step is left: pass it to anything long-running. */
  readonly signal: AbortSignal
  /** The run's thread (`threadId` run option) as loaded when the run started; empty without one. */
  readonly thread: Thread
  /**
   * In a step an `error` edge led to, the error that sent the run here (`step`, `_tag`, `message`,
   * and `reason`, `cause`, … as the error kept them); undefined in a visit reached otherwise.
   */
  readonly error?: RunError & { readonly step: string }
}

// Model calls and retrievers (embeddings APIs, search services) rate-limit: they retry by default.
const modelRetry = { attempts: 3, initialDelay: "500ms", factor: 2, maxDelay: "30s" } as const

/**
 * The step kinds of the core, each with the builder that makes it and the policy its steps start
 * from (the pipeline's and the step's own win field by field; without one a step is tried once).
 * The builder checks `.step()` against this table, and the run layer's table of runners
 * (run/step-kinds.ts) is keyed by it, so a new kind missing there is a type error.
 *
 * @example
 * const builderOf = (kind: StepKind) => `${stepKindDefinitions[kind].builder}()`
 */
export const stepKindDefinitions = {
  fn: { builder: "fn", defaultPolicy: { retry: noRetry } },
  llm: { builder: "llm", defaultPolicy: { retry: modelRetry, attemptTimeout: "120s" } },
  tool: { builder: "callTool", defaultPolicy: { retry: noRetry } },
  human: { builder: "human" },
  retrieve: { builder: "retrieve", defaultPolicy: { retry: modelRetry, attemptTimeout: "60s" } },
  // An agent's model turns take the llm defaults.
  agent: { builder: "agent", defaultPolicy: { retry: modelRetry, attemptTimeout: "120s" } },
  parallel: { builder: "parallel" },
  map: { builder: "map" },
  pipeline: { builder: "subpipeline" },
} as const satisfies Record<string, { readonly builder: string; readonly defaultPolicy?: StepPolicy }>

/**
 * Every step kind, in the order of {@link stepKindDefinitions}.
 *
 * @example
 * const isKind = (value: string): value is StepKind => (stepKinds as readonly string[]).includes(value)
 */
export const stepKinds = Object.keys(stepKindDefinitions) as ReadonlyArray<keyof typeof stepKindDefinitions>

/** One of {@link stepKinds}. */
export type StepKind = keyof typeof stepKindDefinitions

interface StepBase<TOutput> {
  /** Phantom: carries the step's output type. Never set at run time. */
  readonly "~output"?: TOutput
  readonly description?: string
  readonly policy?: StepPolicy
}

/** A deterministic step: plain code, sync, async or an Effect. */
export interface FnStep<TOutput, TContext> extends StepBase<TOutput> {
  readonly kind: "fn"
  readonly run: (context: TContext) => TOutput | PromiseLike<TOutput> | Effect.Effect<TOutput, unknown>
}

/** A model call that returns text, or an object validated by `output`. */
export interface LlmStep<TOutput, TContext> extends StepBase<TOutput> {
  readonly kind: "llm"
  readonly model: string | Model
  readonly prompt: (context: TContext) => string | readonly Message[]
  readonly system?: string | ((context: TContext) => string)
  readonly output?: z.ZodType<TOutput>
  /** Models (aliases or handles) tried in order when the primary fails after its retries. */
  readonly fallback?: ReadonlyArray<string | Model>
  readonly temperature?: number
  readonly maxOutputTokens?: number
  /** Prompt caching: `false` sends no cache marks; `{ key, breakpoints }` overrides the defaults (see `PromptCacheHint`). */
  readonly cache?: boolean | PromptCacheHint
  /** Stream the answer: text chunks become `model.delta` events as they arrive. */
  readonly stream?: boolean
  /** With `output`: how many times an answer that fails the schema is sent back with its issues (default 1). */
  readonly repair?: number
  /** Send the run's thread before the prompt (all of it, or its last messages), and add this exchange to it when the run is done. */
  readonly thread?: boolean | { readonly lastMessages: number }
}

/** A deterministic call of a typed tool. */
export interface ToolStep<TOutput, TContext> extends StepBase<TOutput> {
  readonly kind: "tool"
  // biome-ignore lint/suspicious/noExplicitAny: the tool's argument type is checked where the step is built
  readonly tool: Tool<any, TOutput>
  readonly args: (context: TContext) => unknown
}

/** Waits for a typed decision from a person, with an optional deadline. */
export interface HumanStep<TOutput, TContext> extends StepBase<TOutput> {
  readonly kind: "human"
  readonly decision: z.ZodType<TOutput>
  readonly timeout?: DurationInput
  /** What to show the person deciding. */
  readonly prompt?: (context: TContext) => string
}

/**
 * Any step definition, typed by its output and by the context its functions read.
 *
 * @example
 * const shout: Step<string, StepContext<{ text: string }, {}>> = fn(({ input }) => input.text.toUpperCase())
 */
export type Step<TOutput, TContext> =
  | FnStep<TOutput, TContext>
  | LlmStep<TOutput, TContext>
  | ToolStep<TOutput, TContext>
  | HumanStep<TOutput, TContext>
  | RetrieveStep<TOutput, TContext>
  | ParallelStep<TOutput, TContext>
  | MapStep<TOutput, TContext>
  | PipelineStep<TOutput, TContext>
  | AgentStep<TOutput, TContext>

/** A step of any output and context, as the runtime sees it. */
// biome-ignore lint/suspicious/noExplicitAny: erased at run time
export type AnyStep = Step<any, any>

/** The output type of a step definition. */
export type OutputOf<TStep> = TStep extends { readonly "~output"?: infer TOutput } ? TOutput : never

/**
 * The resolved policy of a step: its kind's default, then the given policies (pipeline, enclosing
 * step), then the step's own. Throws a `RangeError` naming `where` for an impossible value.
 *
 * @example
 * const policy = policyOfStep('step "answer"', step, pipelinePolicy)
 */
export const policyOfStep = (where: string, step: AnyStep, ...policies: ReadonlyArray<StepPolicy | undefined>): ResolvedPolicy => {
  const kind: { readonly builder: string; readonly defaultPolicy?: StepPolicy } = stepKindDefinitions[step.kind]
  return resolveStepPolicy(where, kind.defaultPolicy, ...policies, step.policy)
}
