import type { z } from "zod"
import type { Message, Model, PromptCacheHint } from "../../contract/model.ts"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { LlmStep, StepContext } from "./step.ts"

/**
 * A model call. Without `output` the step returns the model's text; with a zod schema it returns
 * the validated object (invalid output is a retryable `invalid-output` error). The options are
 * checked when the step is added to a pipeline (`.step()`), naming the step.
 *
 * @example
 * const classify = llm({
 *   model: "fast",
 *   prompt: ({ input }) => `Classify: ${input.ticket}`,
 *   output: z.object({ kind: z.enum(["refund", "bug", "other"]) }),
 * })
 */
export const llm = <TOutput = string, TInput = never, TSteps = never>(options: {
  readonly model: string | Model
  readonly prompt: (context: StepContext<TInput, TSteps>) => string | readonly Message[]
  readonly system?: string | ((context: StepContext<TInput, TSteps>) => string)
  readonly output?: z.ZodType<TOutput>
  readonly fallback?: ReadonlyArray<string | Model>
  readonly temperature?: number
  readonly maxOutputTokens?: number
  /** Prompt caching: `false` sends no cache marks; `{ key, breakpoints }` overrides the defaults (see `PromptCacheHint`). */
  readonly cache?: boolean | PromptCacheHint
  readonly stream?: boolean
  readonly repair?: number
  /** Send the run's thread before the prompt (all of it, or its last messages), and add this exchange to it when the run is done. */
  readonly thread?: boolean | { readonly lastMessages: number }
  readonly description?: string
  readonly policy?: StepPolicy
}): LlmStep<TOutput, StepContext<TInput, TSteps>> =>
  builtFrom({ ...optionsOf(options), kind: "llm" } as LlmStep<TOutput, StepContext<TInput, TSteps>>, "llm(options)", options, true)
