import type { WorkflowContext } from "@restatedev/restate-sdk"
import { messageOf, type RunError, serializeStepError } from "../../contract/errors.ts"
import type { RunEvent } from "../../contract/events.ts"
import { type Redaction, redactor } from "../../contract/redaction.ts"
import { type StepExecutor, silentClock } from "../../run/executor.ts"
import type { RunServices } from "../../run/services.ts"

/** What one step visit (or agent turn, or branch) left in Restate's journal: its outcome and the events it produced, in order. */
type VisitRecord = ({ readonly done: unknown } | { readonly error: RunError }) & { readonly events: readonly RunEvent[] }

/**
 * Runs every step visit inside `ctx.run("<step>#<visit>")`. The step's own Effect policy (retries,
 * timeouts, fallbacks) runs inside; whatever it ends with, success or a RunError, is returned as a
 * value so Restate journals it and never retries the closure itself. Restate's invocation retry
 * covers only crashes: a replay then returns the journaled visit, and the step never runs twice.
 *
 * The visit's events are buffered inside the closure and journaled with its outcome, then handed to
 * the run's own `record` after `ctx.run` resolves, on the first execution and on every replay
 * alike: the projection gets the same events at the same positions each time.
 *
 * Restate's journal gets what switchboard's journal would: call records and errors redacted
 * (`redact` keys and API keys masked), step outputs exact, since a replay needs them.
 *
 * @example
 * const handlers = { run: (ctx: WorkflowContext, input: unknown) => triage.run(input as never, { runId: ctx.key, executor: restateStepExecutor(ctx, { redact: { keys: ["ssn"] } }) }) }
 */
export const restateStepExecutor = (ctx: WorkflowContext, options: { readonly redact?: Redaction } = {}): StepExecutor => {
  const redaction = redactor(options.redact)
  return {
    clock: silentClock,
    runStep: async <TOutcome>(key: string, run: (services: RunServices) => Promise<TOutcome>, services: RunServices): Promise<TOutcome> => {
      const visit = await ctx.run<VisitRecord>(key, async () => {
        const events: RunEvent[] = []
        const buffered = { ...services, record: (event: RunEvent) => void events.push(event) }
        let outcome: VisitRecord
        try {
          outcome = { done: await run(buffered), events: events.map(redaction.journal) }
        } catch (error) {
          outcome = { error: redaction.error(serializeStepError(stepOf(key), error)), events: events.map(redaction.journal) }
        }
        // What cannot be journaled as JSON fails the step here, as a value, instead of failing ctx.run.
        try {
          return JSON.parse(JSON.stringify(outcome)) as VisitRecord
        } catch (error) {
          const step = stepOf(key)
          return {
            error: { _tag: "StepCodeError", step, retryable: false, message: `output of "${step}" cannot be journaled as JSON: ${messageOf(error)}` },
            events: [],
          }
        }
      })
      for (const event of visit.events) await services.record(event)
      if ("error" in visit) throw visit.error
      return visit.done as TOutcome
    },
  }
}

const stepOf = (key: string): string => key.split("#")[0] as string
