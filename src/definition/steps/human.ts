import type { z } from "zod"
import type { DurationInput } from "../../contract/duration.ts"
import { toMillis } from "../../contract/duration.ts"
import type { HumanStep, StepContext } from "./step.ts"

/**
 * A handoff: the run waits for a person's decision, validated by `decision`. With `timeout`, the
 * step's `timeout` edge is followed when no decision arrives in time (or the run fails).
 *
 * @example
 * const review = human({ decision: z.object({ approve: z.boolean() }), timeout: "24h" })
 */
export const human = <TDecision, TInput = never, TSteps = never>(options: {
  readonly decision: z.ZodType<TDecision>
  readonly timeout?: DurationInput
  readonly prompt?: (context: StepContext<TInput, TSteps>) => string
  readonly description?: string
}): HumanStep<TDecision, StepContext<TInput, TSteps>> => {
  if (options.timeout !== undefined) toMillis(options.timeout, "human step timeout")
  return { kind: "human", ...options }
}
