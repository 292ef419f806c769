import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { FnStep, StepContext } from "./step.ts"

/**
 * A step that saves facts to the run's thread: it returns an object whose keys are merged over the
 * thread's facts when the run finishes `done` (later runs read them as `ctx.thread.facts`). Its
 * output is journaled like any step's, so a resumed run saves the same facts, once. When the step
 * runs more than once (a loop), its latest output counts.
 *
 * @example
 * .step("remember", rememberFacts(({ steps }) => ({ name: steps.extract?.name, plan: steps.extract?.plan })))
 */
export const rememberFacts = <TFacts extends Readonly<Record<string, unknown>>, TInput = never, TSteps = never>(
  select: (context: StepContext<TInput, TSteps>) => TFacts | PromiseLike<TFacts>,
  options: { readonly description?: string } = {},
): FnStep<TFacts, StepContext<TInput, TSteps>> & { readonly remember: true } => {
  const given = optionsOf(options)
  return builtFrom(
    { ...given, kind: "fn", run: select, remember: true, description: given["description"] ?? "Saves facts to the thread" } as FnStep<
      TFacts,
      StepContext<TInput, TSteps>
    > & {
      readonly remember: true
    },
    "rememberFacts(select, options)",
    options,
    false,
  )
}

/** Whether a step's output is facts for the thread. */
export const isFactsStep = (step: unknown): boolean => (step as { readonly remember?: unknown } | undefined)?.remember === true
