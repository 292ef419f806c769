import * as Effect from "effect/Effect"
import { z } from "zod"
import { ConfigurationError, ModelError, StepTimeoutError, messageOf, serializeStepError, type StepError } from "../../contract/errors.ts"
import type { GenerateOptions, Message, Model, ModelRequest, ModelResponse, Models } from "../../contract/model.ts"
import { costOf } from "../prices.ts"
import { beforeDeadline, timeoutError, withPolicy } from "../with-policy.ts"
import { runCode } from "./run-code.ts"
import type { LlmStep, StepContext } from "../../definition/steps/step.ts"
import type { StepRun } from "../services.ts"
import { threadMessagesFor } from "../thread-session.ts"

const jsonSchemas = new WeakMap<object, Record<string, unknown>>()
/** The JSON Schema of a zod schema, computed once per schema. */
export const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  let jsonSchema = jsonSchemas.get(schema)
  if (jsonSchema === undefined) jsonSchemas.set(schema, (jsonSchema = z.toJSONSchema(schema) as Record<string, unknown>))
  return jsonSchema
}

const rawTextLimit = 2_000

/** Where an llm step's Effect program starts when its fast path already did part of the work. */
export interface LlmStart {
  /** The request the fast path built (the prompt function is not called twice). */
  readonly request?: ModelRequest
  /** How the first attempt on the first model failed: retries and fallbacks continue from it. */
  readonly firstFailure?: ModelError | StepTimeoutError
}

/**
 * A model call under the step policy, then each fallback model in turn. Within one attempt, an
 * answer that fails the output schema is sent back with its issues (`repair` times) before the
 * attempt fails with a non-retryable `invalid-output` error, which moves on to the fallback.
 */
export const runLlm = (step: LlmStep<unknown, unknown>, stepRun: StepRun, start: LlmStart = {}): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const { name, context } = stepRun
    const request = start.request ?? ((yield* runCode(name, () => requestOf(step, name, context))) as ModelRequest)
    let firstFailure = start.firstFailure
    // The fast path's failed attempt counts as the first model's first: the schedule retries after it.
    const attempt = (model: Model) =>
      Effect.suspend(() => {
        const known = firstFailure
        firstFailure = undefined
        return known === undefined ? attemptWithRepair(step, model, request, stepRun) : Effect.fail(known)
      })
    return yield* withFallback([step.model, ...(step.fallback ?? [])], stepRun, attempt, { attemptTimesItself: true })
  })

/**
 * Runs `attempt` under the step policy with the first model, then with each fallback model in
 * turn while the failure is a model failure; journals each switch as `model.fallback`. An attempt
 * that enforces the policy's attempt timeout itself says so (`attemptTimesItself`).
 */
export const withFallback = <TValue>(
  candidates: ReadonlyArray<string | Model>,
  stepRun: StepRun,
  attempt: (model: Model) => Effect.Effect<TValue, StepError>,
  options: { readonly attemptTimesItself?: boolean } = {},
): Effect.Effect<TValue, StepError> =>
  Effect.gen(function* () {
    const { name, policy, services, onRetry, base, tally } = stepRun
    let lastError: StepError | undefined
    for (const [index, candidate] of candidates.entries()) {
      const model = resolveModel(candidate, services.models, name)
      if (model instanceof ConfigurationError) return yield* model
      if (lastError !== undefined) {
        tally.attempts += 1
        const from = describe(candidates[index - 1] as string | Model)
        yield* Effect.promise(async () => services.record({ type: "model.fallback", ...base, from, to: describe(candidate), error: serializeStepError(name, lastError), at: Date.now() }))
      }
      const result = yield* Effect.result(withPolicy(name, attempt(model), policy, onRetry, options))
      if (result._tag === "Success") return result.success
      lastError = result.failure
      // Only model failures move on to the next model; a code or configuration error would repeat.
      if (lastError._tag !== "ModelError" && lastError._tag !== "StepTimeoutError") break
    }
    return yield* Effect.fail(lastError as StepError)
  })

/**
 * The fast path of an llm step without a step timeout: the first attempt on the first model as
 * plain promises (no fiber). Most steps end here; a failed attempt hands its failure to
 * {@link runLlm}, whose retries and fallbacks go on from it as if Effect had run that attempt.
 */
export const firstAttempt = async (step: LlmStep<unknown, unknown>, stepRun: StepRun, signal: AbortSignal): Promise<{ readonly output: unknown } | LlmStart> => {
  let request: ModelRequest
  try {
    request = requestOf(step, stepRun.name, stepRun.context)
  } catch {
    // runLlm calls the prompt again and reports what it throws, as a step code error.
    return {}
  }
  const model = resolveModel(step.model, stepRun.services.models, stepRun.name)
  if (model instanceof ConfigurationError) return { request }
  try {
    return { output: await attemptOnce(step, model, request, stepRun, signal) }
  } catch (error) {
    return { request, firstFailure: asAttemptError(model, error) }
  }
}

const requestOf = (step: LlmStep<unknown, unknown>, name: string, context: StepContext<unknown, Record<string, unknown>>): ModelRequest => {
  const messages = buildMessages(step, context)
  const wantsObject = step.output !== undefined && !(step.output instanceof z.ZodString)
  return {
    messages,
    ...(wantsObject && step.output !== undefined ? { output: { name, jsonSchema: jsonSchemaOf(step.output) } } : {}),
    ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
    ...(step.maxOutputTokens === undefined ? {} : { maxOutputTokens: step.maxOutputTokens }),
  }
}

const asAttemptError = (model: Model, error: unknown): ModelError | StepTimeoutError => (error instanceof StepTimeoutError ? error : toModelError(model, error))

/** One attempt as an Effect: interruption aborts the attempt's signal, and so its model call. */
const attemptWithRepair = (step: LlmStep<unknown, unknown>, model: Model, request: ModelRequest, stepRun: StepRun): Effect.Effect<unknown, ModelError | StepTimeoutError> =>
  Effect.tryPromise({ try: (signal) => attemptOnce(step, model, request, stepRun, signal), catch: (error) => asAttemptError(model, error) })

/** One attempt: a call, then up to `repair` re-asks while the answer fails the output schema. */
const attemptOnce = async (step: LlmStep<unknown, unknown>, model: Model, request: ModelRequest, stepRun: StepRun, signal: AbortSignal): Promise<unknown> => {
  const repairs = step.output === undefined ? 0 : (step.repair ?? 1)
  // The attempt's deadline covers every call of the attempt, repairs included.
  const { attemptTimeoutMs } = stepRun.policy
  const deadline = attemptTimeoutMs === undefined ? undefined : Date.now() + attemptTimeoutMs
  let current = request
  for (let repair = 0; ; repair++) {
    const response = await callModel(model, current, stepRun, step.stream === true, deadline, signal)
    const parsed = parseOutput(step, response.text)
    if (parsed.success) return parsed.value
    if (repair >= repairs) {
      throw new ModelError({
        provider: model.provider,
        model: model.model,
        reason: "invalid-output",
        // Repairs are spent: the same model is unlikely to do better, so do not retry it.
        retryable: repairs === 0,
        message: `model answer ${parsed.problem}${repairs === 0 ? "" : ` (after ${repairs} repair${repairs === 1 ? "" : "s"})`}`,
        issues: parsed.issues,
        rawText: response.text.slice(0, rawTextLimit),
      })
    }
    const { base, services } = stepRun
    await services.record({ type: "model.repair", ...base, repair: repair + 1, issues: parsed.issues, at: Date.now() })
    // Only the last failed answer goes back, never the whole failed history.
    current = {
      ...request,
      messages: [
        ...request.messages,
        { role: "assistant", content: response.text.slice(0, rawTextLimit) },
        { role: "user", content: repairPrompt(parsed.problem, parsed.issues) },
      ],
    }
  }
}

/** One model call, journaled as `model.called` (answer or error), its usage added to the step's tally. */
const callModel = async (model: Model, request: ModelRequest, stepRun: StepRun, stream: boolean, deadline: number | undefined, signal: AbortSignal): Promise<ModelResponse> => {
  const { base, services, usage, policy } = stepRun
  const started = Date.now()
  const journalCall = (outcome: { response?: ModelResponse; error?: ModelError | StepTimeoutError }) =>
    services.record({
      type: "model.called",
      ...base,
      provider: model.provider,
      model: model.model,
      messages: request.messages,
      ...(outcome.response === undefined
        ? {}
        : {
            response: {
              text: outcome.response.text,
              ...(outcome.response.toolCalls === undefined ? {} : { toolCalls: outcome.response.toolCalls }),
              ...(outcome.response.finishReason === undefined ? {} : { finishReason: outcome.response.finishReason }),
            },
            ...(outcome.response.usage === undefined ? {} : { usage: outcome.response.usage }),
          }),
      ...(outcome.error === undefined ? {} : { error: serializeStepError(base.step, outcome.error) }),
      durationMs: Date.now() - started,
      at: Date.now(),
    })
  const send = (callSignal: AbortSignal) => {
    const options: GenerateOptions = {
      signal: callSignal,
      ...(stream ? { onDelta: (text: string) => services.emit({ type: "model.delta", ...base, text, at: Date.now() }) } : {}),
      ...(policy.firstTokenTimeoutMs === undefined ? {} : { firstTokenTimeoutMs: policy.firstTokenTimeoutMs }),
      ...(policy.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: policy.idleTimeoutMs }),
    }
    return model.generate(request, options)
  }
  const attemptTimeout = () => timeoutError(base.step, "attempt", policy.attemptTimeoutMs ?? 0, true)
  let response: ModelResponse
  try {
    response = await (deadline === undefined ? send(signal) : beforeDeadline(deadline, signal, send, attemptTimeout))
  } catch (error) {
    const failure = asAttemptError(model, error)
    // A call abandoned because the step was left is not a failure of the model: nothing to journal.
    if (!signal.aborted) await journalCall({ error: failure })
    throw failure
  }
  await journalCall({ response })
  usage.calls += 1
  if (response.usage !== undefined) {
    usage.inputTokens += response.usage.inputTokens
    usage.outputTokens += response.usage.outputTokens
    usage.cachedInputTokens += response.usage.cachedInputTokens ?? 0
    const cost = costOf(response.usage, model.provider, model.model, services.prices)
    if (cost === undefined) usage.unpricedCalls += 1
    else usage.costUsd += cost
  }
  return response
}

/** One model call as an Effect (for steps that drive the model themselves), journaled like every call. */
export const call = (model: Model, request: ModelRequest, stepRun: StepRun, stream: boolean, deadline?: number): Effect.Effect<ModelResponse, ModelError | StepTimeoutError> =>
  Effect.tryPromise({ try: (signal) => callModel(model, request, stepRun, stream, deadline, signal), catch: (error) => asAttemptError(model, error) })

/** What a model is told when its answer fails the output schema: the problem, its issues, answer again. */
export const repairPrompt = (problem: string, issues: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
  [
    `Your previous answer ${problem}.`,
    ...issues.slice(0, 20).map((issue) => `- ${issue.path}: ${issue.message}`),
    "Answer again with only the corrected JSON, matching the required schema.",
  ].join("\n")

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
  const messages: Message[] = [...threadMessagesFor(step, context), ...(typeof prompt === "string" ? [{ role: "user" as const, content: prompt }] : prompt)]
  const system = typeof step.system === "function" ? step.system(context) : step.system
  return system === undefined ? messages : [{ role: "system", content: system }, ...messages]
}

const toModelError = (model: Model, error: unknown): ModelError =>
  error instanceof ModelError
    ? error
    : new ModelError({ provider: model.provider, model: model.model, reason: "unknown", retryable: false, message: messageOf(error) })

type Parsed =
  | { readonly success: true; readonly value: unknown }
  | { readonly success: false; readonly problem: string; readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }> }

/** Parses a model's answer against a step's `output` schema (JSON first, unless the schema is a string). */
export const parseOutput = (step: { readonly output?: z.ZodType | undefined }, text: string): Parsed => {
  if (step.output === undefined) return { success: true, value: text }
  let value: unknown = text
  if (!(step.output instanceof z.ZodString)) {
    try {
      value = JSON.parse(stripFence(text))
    } catch (error) {
      return { success: false, problem: "is not valid JSON", issues: [{ path: "(root)", message: messageOf(error) }] }
    }
  }
  const parsed = step.output.safeParse(value)
  if (parsed.success) return { success: true, value: parsed.data }
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message }))
  return { success: false, problem: "does not match the output schema", issues }
}

// Models without a native JSON mode often wrap JSON in a Markdown code fence.
export const stripFence = (text: string): string => {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(text)
  return fenced === null ? text : (fenced[1] as string)
}
