import type { z } from "zod"
import type { DurationInput } from "../../contract/duration.ts"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { HumanStep, StepContext } from "./step.ts"

/**
 * A handoff: the run waits for a person's decision, validated by `decision`. With `timeout`, the
 * step's `timeout` edge is followed when no decision arrives in time (or the run fails). The
 * deadline fires by itself: a live handle's timer, the process that paused the run while it lives,
 * or a `worker()`; a decision after it is refused with `DecisionError` reason `late`. The
 * options are checked when the step is added to a pipeline (`.step()`), naming the step.
 *
 * @example
 * const review = human({ decision: z.object({ approve: z.boolean() }), timeout: "24h" })
 */
export const human = <TDecision, TInput = unknown, TSteps = unknown>(options: {
  readonly decision: z.ZodType<TDecision>
  readonly timeout?: DurationInput
  readonly prompt?: (context: StepContext<TInput, TSteps>) => string
  readonly description?: string
}): HumanStep<TDecision, StepContext<TInput, TSteps>> =>
  builtFrom({ ...optionsOf(options), kind: "human" } as HumanStep<TDecision, StepContext<TInput, TSteps>>, "human(options)", options, true)
