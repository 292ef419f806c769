import * as Effect from "effect/Effect"
import { z } from "zod"
import { ConfigurationError, ModelError, messageOf, serializeStepError, type StepError } from "../errors.ts"
import type { Message, Model, Models, Usage } from "../models/model.ts"
import { withPolicy } from "../policies/with-policy.ts"
import { runCode } from "./run-code.ts"
import type { LlmStep, StepContext } from "./step.ts"
import type { StepRun, UsageTally } from "./step-run.ts"

const jsonSchemas = new WeakMap<object, Record<string, unknown>>()
const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  let jsonSchema = jsonSchemas.get(schema)
  if (jsonSchema === undefined) jsonSchemas.set(schema, (jsonSchema = z.toJSONSchema(schema) as Record<string, unknown>))
  return jsonSchema
}

/** A model call under the step policy, then each fallback model in turn. */
export const runLlm = (step: LlmStep<unknown, unknown>, { name, context, policy, services, onRetry, usage, base, tally }: StepRun): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const messages = yield* runCode(name, () => buildMessages(step, context)) as Effect.Effect<Message[], StepError>
    const wantsObject = step.output !== undefined && !(step.output instanceof z.ZodString)
    const request = {
      messages,
      ...(wantsObject && step.output !== undefined ? { output: { name, jsonSchema: jsonSchemaOf(step.output) } } : {}),
      ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
      ...(step.maxOutputTokens === undefined ? {} : { maxOutputTokens: step.maxOutputTokens }),
    }
    const candidates = [step.model, ...(step.fallback ?? [])]
    let lastError: StepError | undefined
    for (const [index, candidate] of candidates.entries()) {
      const model = resolveModel(candidate, services.models, name)
      if (model instanceof ConfigurationError) return yield* model
      if (lastError !== undefined) {
        tally.attempts += 1
        const from = describe(candidates[index - 1] as string | Model)
        yield* Effect.promise(async () => services.record({ type: "model.fallback", ...base, from, to: describe(candidate), error: serializeStepError(name, lastError), at: Date.now() }))
      }
      const attempt = Effect.tryPromise({
        try: (signal) => model.generate(request, { signal }),
        catch: (error) => toModelError(model, error),
      }).pipe(Effect.flatMap((response) => {
        if (response.usage !== undefined) addUsage(usage, response.usage)
        return parseOutput(step, model, response.text)
      }))
      const result = yield* Effect.result(withPolicy(name, attempt, policy, onRetry))
      if (result._tag === "Success") return result.success
      lastError = result.failure
      // Only model failures move on to the next model; a code or configuration error would repeat.
      if (lastError._tag !== "ModelError" && lastError._tag !== "StepTimeoutError") break
    }
    return yield* Effect.fail(lastError as StepError)
  })

const addUsage = (tally: UsageTally, usage: Usage) => {
  tally.inputTokens += usage.inputTokens
  tally.outputTokens += usage.outputTokens
  tally.reported = true
}

const describe = (model: string | Model) => (typeof model === "string" ? model : `${model.provider}:${model.model}`)

const resolveModel = (model: string | Model, models: Models, step: string): Model | ConfigurationError => {
  if (typeof model !== "string") return model
  const found = models[model]
  if (found !== undefined) return found
  const known = Object.keys(models)
  return new ConfigurationError({
    step,
    retryable: false,
    message: `step "${step}" uses model "${model}", but the run has no model by that name (run options models: ${known.length === 0 ? "none" : known.join(", ")})`,
  })
}

const buildMessages = (step: LlmStep<unknown, unknown>, context: StepContext<unknown, Record<string, unknown>>): Message[] => {
  const prompt = step.prompt(context)
  const messages: Message[] = typeof prompt === "string" ? [{ role: "user", content: prompt }] : [...prompt]
  const system = typeof step.system === "function" ? step.system(context) : step.system
  return system === undefined ? messages : [{ role: "system", content: system }, ...messages]
}

const toModelError = (model: Model, error: unknown): ModelError =>
  error instanceof ModelError
    ? error
    : new ModelError({ provider: model.provider, model: model.model, reason: "unknown", retryable: false, message: messageOf(error) })

const parseOutput = (step: LlmStep<unknown, unknown>, model: Model, text: string): Effect.Effect<unknown, ModelError> => {
  if (step.output === undefined) return Effect.succeed(text)
  const invalid = (message: string) =>
    new ModelError({ provider: model.provider, model: model.model, reason: "invalid-output", retryable: true, message })
  let value: unknown = text
  if (!(step.output instanceof z.ZodString)) {
    try {
      value = JSON.parse(text)
    } catch {
      return Effect.fail(invalid(`model answer is not JSON: ${text.slice(0, 200)}`))
    }
  }
  const parsed = step.output.safeParse(value)
  return parsed.success ? Effect.succeed(parsed.data) : Effect.fail(invalid(`model answer does not match the output schema:\n${z.prettifyError(parsed.error)}`))
}

