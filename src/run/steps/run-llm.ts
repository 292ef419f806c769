import { z } from "zod"
import { ConfigurationError, ModelError, messageOf, StepTimeoutError, serializeStepError, withEvidenceOf } from "../../contract/errors.ts"
import type { GenerateOptions, Message, Model, ModelRequest, ModelResponse, Models, PromptCacheHint } from "../../contract/model.ts"
import type { LlmStep, StepContext } from "../../definition/steps/step.ts"
import { fromUntyped, runAttempts, untilAborted } from "../attempt.ts"
import { lookUpResponse } from "../model-cache.ts"
import { modelPassage } from "../model-limits.ts"
import { costOf } from "../prices.ts"
import { promptCacheHint } from "../prompt-cache-hint.ts"
import type { StepRun } from "../services.ts"
import { threadMessagesFor } from "../thread-session.ts"
import { codeFailure } from "./run-code.ts"

const jsonSchemas = new WeakMap<object, Record<string, unknown>>()
/** The JSON Schema of a zod schema, computed once per schema. */
export const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  let jsonSchema = jsonSchemas.get(schema)
  if (jsonSchema === undefined) jsonSchemas.set(schema, (jsonSchema = z.toJSONSchema(schema) as Record<string, unknown>))
  return jsonSchema
}

const rawTextLimit = 2_000

/**
 * A model call under the step policy, then each fallback model in turn. Within one attempt, an
 * answer that fails the output schema is sent back with its issues (`repair` times) before the
 * attempt fails with a non-retryable `invalid-output` error, which moves on to the fallback.
 */
export const runLlm = (step: LlmStep<unknown, unknown>, stepRun: StepRun): Promise<unknown> => {
  const { name, context } = stepRun
  let request: ModelRequest
  try {
    request = requestOf(step, name, context)
  } catch (thrown) {
    return Promise.reject(codeFailure(name, thrown))
  }
  const promptCache = promptCacheHint(step, stepRun.services, name, step.thread !== undefined && step.thread !== false)
  return withFallback([step.model, ...(step.fallback ?? [])], stepRun, (model, signal) => attemptOnce(step, model, request, stepRun, signal, promptCache))
}

/**
 * Runs `attempt` under the step policy ({@link runAttempts}) with the first model, then with each
 * fallback model in turn while the failure is a model failure; journals each switch as
 * `model.fallback`. The attempt settles by itself when its signal aborts (its calls race it), so
 * a timed-out call is journaled before the retry starts.
 *
 * @example
 * const response = await withFallback(["smart", "fast"], stepRun, (model, signal) => callModel(model, request, stepRun, false, signal))
 */
export const withFallback = <TValue>(
  candidates: ReadonlyArray<string | Model>,
  stepRun: StepRun,
  attempt: (model: Model, signal: AbortSignal) => Promise<TValue>,
): Promise<TValue> => (candidates.length === 1 ? attemptModel(candidates[0] as string | Model, stepRun, attempt) : fallingBack(candidates, stepRun, attempt))

const fallingBack = async <TValue>(
  candidates: ReadonlyArray<string | Model>,
  stepRun: StepRun,
  attempt: (model: Model, signal: AbortSignal) => Promise<TValue>,
): Promise<TValue> => {
  const { name, services, base, tally, record } = stepRun
  let lastError: unknown
  for (const [index, candidate] of candidates.entries()) {
    // An unknown alias fails the step now, whatever the previous model's failure was.
    const model = resolveModel(candidate, services.models, name)
    if (model instanceof ConfigurationError) throw model
    if (lastError !== undefined) {
      tally.attempts += 1
      const from = describe(candidates[index - 1] as string | Model)
      await record({ type: "model.fallback", ...base, from, to: describe(candidate), error: serializeStepError(name, lastError), at: Date.now() })
    }
    try {
      return await attemptModel(model, stepRun, attempt)
    } catch (error) {
      lastError = error
    }
    // Only model failures move on to the next model: a code or configuration error would repeat,
    // and a step that is out of time or cancelled has no time for another model.
    if (!(lastError instanceof ModelError || (lastError instanceof StepTimeoutError && lastError.scope === "attempt"))) break
  }
  throw lastError
}

/** The attempts of one model under the step policy; each settles by itself when its signal aborts. */
const attemptModel = <TValue>(
  candidate: string | Model,
  stepRun: StepRun,
  attempt: (model: Model, signal: AbortSignal) => Promise<TValue>,
): Promise<TValue> => {
  const model = resolveModel(candidate, stepRun.services.models, stepRun.name)
  if (model instanceof ConfigurationError) return Promise.reject(model)
  return runAttempts(stepRun.scope, (signal) => attempt(model, signal), { toError: (thrown) => asAttemptError(model, thrown), settlesOnAbort: true })
}

const requestOf = (step: LlmStep<unknown, unknown>, name: string, context: StepContext<unknown, Record<string, unknown>>): ModelRequest => {
  const messages = promptMessages(step, context, threadMessagesFor(step, context))
  const wantsObject = step.output !== undefined && !(step.output instanceof z.ZodString)
  return {
    messages,
    ...(wantsObject && step.output !== undefined ? { output: { name, jsonSchema: jsonSchemaOf(step.output) } } : {}),
    ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
    ...(step.maxOutputTokens === undefined ? {} : { maxOutputTokens: step.maxOutputTokens }),
  }
}

const asAttemptError = (model: Model, error: unknown): ModelError | StepTimeoutError => (error instanceof StepTimeoutError ? error : toModelError(model, error))

/** One attempt: a call, then up to `repair` re-asks while the answer fails the output schema. */
const attemptOnce = async (
  step: LlmStep<unknown, unknown>,
  model: Model,
  request: ModelRequest,
  stepRun: StepRun,
  signal: AbortSignal,
  promptCache: PromptCacheHint | false,
): Promise<unknown> => {
  const repairs = step.output === undefined ? 0 : (step.repair ?? 1)
  // The attempt's signal (its deadline) covers every call of the attempt, repairs included.
  let current = request
  for (let repair = 0; ; repair++) {
    const response = await callModel(model, current, stepRun, step.stream === true, signal, promptCache)
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
    const { base, record } = stepRun
    await record({ type: "model.repair", ...base, repair: repair + 1, issues: parsed.issues, at: Date.now() })
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

/**
 * One model call with the attempt's signal, journaled as `model.called` (answer or error, a
 * timeout included), its usage added to the step's tally. Settles as soon as the signal aborts.
 *
 * @example
 * const response = await callModel(model, { messages }, stepRun, false, signal)
 */
export const callModel = async (
  model: Model,
  request: ModelRequest,
  stepRun: StepRun,
  stream: boolean,
  signal: AbortSignal,
  promptCache?: PromptCacheHint | false,
): Promise<ModelResponse> => {
  const { base, services, usage, policy, record } = stepRun
  let started = Date.now()
  let queuedMs = 0
  const journalCall = (outcome: { response?: ModelResponse; error?: ModelError | StepTimeoutError; cached?: boolean }) =>
    record({
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
      ...(outcome.cached === true ? { cached: true } : {}),
      ...(queuedMs > 0 ? { queuedMs } : {}),
      at: Date.now(),
    })
  const options: GenerateOptions = {
    signal,
    ...(stream ? { onDelta: (text: string) => services.emit({ type: "model.delta", ...base, text, at: Date.now() }) } : {}),
    ...(policy.firstTokenTimeoutMs === undefined ? {} : { firstTokenTimeoutMs: policy.firstTokenTimeoutMs }),
    ...(policy.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: policy.idleTimeoutMs }),
    ...(promptCache === undefined ? {} : { promptCache }),
  }
  // Between the calls of an attempt (a repair), its time may have run out: no call is made then.
  if (signal.aborted) throw signal.reason
  const cached = await lookUpResponse(services.modelCache, model, request)
  if (cached.hit !== undefined) {
    await journalCall({ response: { ...cached.hit, usage: { inputTokens: 0, outputTokens: 0 } }, cached: true })
    return cached.hit
  }
  const passage = modelPassage(services.limits, model, request)
  let response: ModelResponse
  try {
    // Waiting for a slot spends the attempt's time: its signal (the timeout) ends the wait.
    await passage.wait(signal)
    queuedMs = passage.queuedMs()
    started = Date.now()
    response = await untilAborted(model.generate(request, options), signal)
  } catch (error) {
    queuedMs = passage.queuedMs()
    const timedOut = signal.aborted && signal.reason instanceof StepTimeoutError
    const failure = timedOut ? (signal.reason as StepTimeoutError) : asAttemptError(model, error)
    // The provider said to slow down: everyone waiting for this model waits, not only this caller.
    passage.failed(failure)
    // A call abandoned because the step was left is not a failure of the model: nothing to journal.
    if (!signal.aborted || timedOut) await journalCall({ error: failure })
    throw failure
  }
  passage.answered(response.usage)
  await journalCall({ response })
  await cached.keep(response)
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

/**
 * The messages of a prompted step (an llm step, an agent's first turn): the system prompt, then
 * `history` (a thread's earlier messages), then the prompt as a user message or as messages.
 *
 * @example
 * promptMessages({ prompt: ({ input }) => `Classify: ${input.ticket}`, system: "Be brief" }, context)
 */
export const promptMessages = (
  step: { readonly prompt: LlmStep<unknown, unknown>["prompt"]; readonly system?: LlmStep<unknown, unknown>["system"] },
  context: StepContext<unknown, Record<string, unknown>>,
  history: readonly Message[] = [],
): Message[] => {
  const prompt = step.prompt(context)
  const messages: Message[] = [...history, ...(typeof prompt === "string" ? [{ role: "user" as const, content: prompt }] : prompt)]
  const system = typeof step.system === "function" ? step.system(context) : step.system
  return system === undefined ? messages : [{ role: "system", content: system }, ...messages]
}

// A model that throws something untyped says nothing about retrying: only an explicit
// `retry.attempts` retries it (see run/attempt.ts).
const toModelError = (model: Model, error: unknown): ModelError =>
  error instanceof ModelError
    ? error
    : fromUntyped(
        withEvidenceOf(new ModelError({ provider: model.provider, model: model.model, reason: "unknown", retryable: false, message: messageOf(error) }), error),
      )

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
