import { z } from "zod"
import { toMillis } from "../../contract/duration.ts"
import { messageOf, serializeStepError, ToolError, withEvidenceOf } from "../../contract/errors.ts"
import type { ToolStep } from "../../definition/steps/step.ts"
import { type AttemptScope, fromUntyped, runAttempts, untilAborted } from "../attempt.ts"
import type { StepRun } from "../services.ts"
import { codeFailure, settleCode } from "./run-code.ts"

/**
 * A tool step under the step policy; each attempt computes the arguments, validates them, runs the
 * tool with the attempt's signal and the step's idempotency key, journals the call and validates
 * the output.
 */
export const runTool = (step: ToolStep<unknown, unknown>, stepRun: StepRun): Promise<unknown> =>
  runAttempts(withToolTimeout(stepRun.scope, step.tool), (signal) => toolAttempt(step, stepRun, signal), {
    toError: (thrown) => codeFailure(stepRun.name, thrown),
    settlesOnAbort: true,
  })

// The tool's own `timeout` bounds each call, as it does for an agent's calls; a step's shorter
// `attemptTimeout` still wins.
const withToolTimeout = (scope: AttemptScope, definition: ToolStep<unknown, unknown>["tool"]): AttemptScope => {
  if (definition.timeout === undefined) return scope
  const toolMs = toMillis(definition.timeout, `tool "${definition.name}": timeout`)
  const attemptTimeoutMs = Math.min(scope.policy.attemptTimeoutMs ?? Number.POSITIVE_INFINITY, toolMs)
  return attemptTimeoutMs === scope.policy.attemptTimeoutMs ? scope : { ...scope, policy: { ...scope.policy, attemptTimeoutMs } }
}

const toolAttempt = async (step: ToolStep<unknown, unknown>, { name, context, record, base }: StepRun, signal: AbortSignal): Promise<unknown> => {
  const definition = step.tool
  const raw = await untilAborted(settleCode(step.args(signal === context.signal ? context : { ...context, signal }), signal), signal)
  const args = definition.input.safeParse(raw)
  if (!args.success) {
    throw new ToolError({
      tool: definition.name,
      reason: "invalid-arguments",
      retryable: false,
      message: `arguments of tool "${definition.name}" in step "${name}":\n${z.prettifyError(args.error)}`,
    })
  }
  const idempotencyKey = `${context.runId}:${name}:${context.visit}`
  const started = Date.now()
  const journalCall = (outcome: { readonly result: unknown } | { readonly error: ToolError }) =>
    record({
      type: "tool.called",
      ...base,
      tool: definition.name,
      args: args.data,
      ...("result" in outcome ? { result: outcome.result } : { error: serializeStepError(name, outcome.error) }),
      durationMs: Date.now() - started,
      at: Date.now(),
    })
  let result: unknown
  try {
    result = await untilAborted(definition.run(args.data, { signal, idempotencyKey, runId: context.runId, step: name }), signal)
  } catch (thrown) {
    // A call abandoned at its timeout or cancelled ends with the attempt's reason: nothing to journal.
    if (signal.aborted) throw thrown
    const error = thrown instanceof ToolError ? thrown : failedCall(definition, thrown)
    await journalCall({ error })
    throw error
  }
  await journalCall({ result })
  if (definition.output === undefined) return result
  const checked = definition.output.safeParse(result)
  if (!checked.success) {
    throw new ToolError({
      tool: definition.name,
      reason: "invalid-output",
      retryable: false,
      message: `output of tool "${definition.name}":\n${z.prettifyError(checked.error)}`,
    })
  }
  return checked.data
}

// An idempotent tool's failure is retryable; one that says `idempotent: false` never is; one that
// says nothing is retried only under an explicit `retry.attempts`, like any untyped error.
const failedCall = (definition: ToolStep<unknown, unknown>["tool"], thrown: unknown): ToolError => {
  const error = withEvidenceOf(
    new ToolError({ tool: definition.name, reason: "failed", retryable: definition.idempotent === true, message: messageOf(thrown) }),
    thrown,
  )
  return definition.idempotent === undefined ? fromUntyped(error) : error
}
