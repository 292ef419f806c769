import * as Effect from "effect/Effect"
import { z } from "zod"
import { ToolError, messageOf, serializeStepError, type StepError } from "../../contract/errors.ts"
import { runCode } from "./run-code.ts"
import type { ToolStep } from "../../definition/steps/step.ts"
import type { StepRun } from "../services.ts"

/** A tool step: arguments from the run, validated; the tool run with the step's signal and idempotency key; output validated. */
export const runTool = (step: ToolStep<unknown, unknown>, { name, context, services, base }: StepRun): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const definition = step.tool
    const raw = yield* runCode(name, () => step.args(context))
    const args = definition.input.safeParse(raw)
    if (!args.success) {
      return yield* new ToolError({ tool: definition.name, reason: "invalid-arguments", retryable: false, message: `arguments of tool "${definition.name}" in step "${name}":\n${z.prettifyError(args.error)}` })
    }
    const idempotencyKey = `${context.runId}:${name}:${context.visit}`
    const started = Date.now()
    const journalCall = (outcome: { readonly result: unknown } | { readonly error: ToolError }) =>
      Effect.promise(async () =>
        services.record({
          type: "tool.called",
          ...base,
          tool: definition.name,
          args: args.data,
          ...("result" in outcome ? { result: outcome.result } : { error: serializeStepError(name, outcome.error) }),
          durationMs: Date.now() - started,
          at: Date.now(),
        }))
    const result = yield* Effect.tryPromise({
      try: async (signal) => definition.run(args.data, { signal, idempotencyKey, runId: context.runId, step: name }),
      catch: (error) => (error instanceof ToolError ? error : new ToolError({ tool: definition.name, reason: "failed", retryable: definition.idempotent === true, message: messageOf(error) })),
    }).pipe(
      Effect.tap((value) => journalCall({ result: value })),
      Effect.tapError((error) => journalCall({ error })),
    )
    if (definition.output === undefined) return result
    const checked = definition.output.safeParse(result)
    if (!checked.success) {
      return yield* new ToolError({ tool: definition.name, reason: "invalid-output", retryable: false, message: `output of tool "${definition.name}":\n${z.prettifyError(checked.error)}` })
    }
    return checked.data
  })

