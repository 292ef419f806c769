import type * as Effect from "effect/Effect"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { FnStep, StepContext } from "./step.ts"

/**
 * A deterministic step: plain code that returns a value, a promise or an Effect.
 *
 * @example
 * const total = fn(({ input }) => input.lines.reduce((sum, line) => sum + line.amount, 0))
 */
export const fn = <TOutput, TInput = never, TSteps = never>(
  run: (context: StepContext<TInput, TSteps>) => TOutput | PromiseLike<TOutput> | Effect.Effect<TOutput, unknown>,
  options: { readonly description?: string; readonly policy?: StepPolicy } = {},
): FnStep<TOutput, StepContext<TInput, TSteps>> =>
  builtFrom({ ...optionsOf(options), kind: "fn", run } as FnStep<TOutput, StepContext<TInput, TSteps>>, "fn(run, options)", options, false)
