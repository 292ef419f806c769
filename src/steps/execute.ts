import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { fromPromise, type AnyActorRef } from "xstate"
import { z } from "zod"
import {
  ConfigurationError,
  ModelError,
  StepCodeError,
  ToolError,
  messageOf,
  serializeStepError,
  type RunError,
  type StepError,
} from "../errors.ts"
import type { NormalizedEdge } from "../graph/edges.ts"
import type { RunContext, StepDone } from "../graph/compile.ts"
import type { Message, Model, Models, Usage } from "../models/model.ts"
import { resolvePolicy, type ResolvedPolicy, type StepPolicy, defaultPolicies } from "../policies/policy.ts"
import { withPolicy } from "../policies/with-policy.ts"
import type { RunEvent } from "../runtime/events.ts"
import type { AnyStep, LlmStep, StepContext, ToolStep } from "./step.ts"

/** What a run lends its steps: models by alias, and where events go. */
export interface RunServices {
  readonly runId: string
  readonly models: Models
  /** Appends to the journal (awaited before the machine moves on) and notifies listeners. */
  readonly record: (event: RunEvent) => void | Promise<void>
}

/** The graph as the step runtime needs it. */
export interface ExecutableGraph {
  readonly id: string
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy: StepPolicy | undefined
}

// Runs attach their services to the XState system they create; a machine driven with plain
// XState (no run) gets defaults, so `createActor(p.machine)` still works.
const servicesBySystem = new WeakMap<object, RunServices>()

/** Attaches a run's services to an actor system before the actor starts. */
export const attachServices = (system: object, services: RunServices): void => {
  servicesBySystem.set(system, services)
}

/** The one actor logic every invoked step state uses: runs the step named by its input. */
export const stepLogic = (graph: ExecutableGraph) => {
  const policies = new Map<string, ResolvedPolicy>()
  for (const [name, step] of graph.steps) {
    if (step.kind !== "human") policies.set(name, resolvePolicy(`step "${name}"`, defaultPolicies[step.kind], graph.policy, step.policy))
  }
  return fromPromise<StepDone, { step: string }>(async ({ input, signal, self, system }) => {
    const context = (self._parent as AnyActorRef | undefined)?.getSnapshot().context as RunContext
    const services = servicesBySystem.get(system) ?? { runId: context.runId, models: {}, record: () => {} }
    return executeStep(graph, input.step, policies.get(input.step) as ResolvedPolicy, context, services, signal)
  })
}

const executeStep = async (
  graph: ExecutableGraph,
  name: string,
  policy: ResolvedPolicy,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
): Promise<StepDone> => {
  const step = graph.steps.get(name) as AnyStep
  const edge = graph.edges.get(name) as NormalizedEdge
  const visit = context.visits[name] ?? 1
  const started = Date.now()
  const base = { runId: services.runId, step: name, visit }
  const tally = { attempts: 1 }
  const usage = { inputTokens: 0, outputTokens: 0, reported: false }
  await services.record({ type: "step.started", ...base, at: started })
  const stepContext: StepContext<unknown, Record<string, unknown>> = { input: context.input, steps: context.steps, visit, runId: services.runId, signal }
  const onRetry = (failedAttempt: number, error: StepError, delayMs: number) => {
    tally.attempts += 1
    void services.record({ type: "step.retried", ...base, attempt: failedAttempt, error: serializeStepError(name, error), delayMs, at: Date.now() })
  }
  const chooseNext = (output: unknown) =>
    edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output, input: context.input, steps: context.steps, visit })
  const routeError = (error: unknown) => new StepCodeError({ step: name, retryable: false, message: `route of "${name}" threw: ${messageOf(error)}` })
  const program = Effect.gen(function* () {
    const output = yield* runKind(step, name, stepContext, policy, services, onRetry, usage, base, tally)
    const next = yield* Effect.try({ try: () => chooseNext(output), catch: routeError })
    return { output, next }
  })
  const exit =
    step.kind === "fn" && policy.attempts === 1 && policy.attemptTimeoutMs === undefined && policy.timeoutMs === undefined
      ? await runPlainFn(step.run, name, stepContext, signal, chooseNext, routeError)
      : await Effect.runPromiseExit(program, { signal })
  const durationMs = Date.now() - started
  if (Exit.isSuccess(exit)) {
    const { output, next } = exit.value
    if (!edge.targets.includes(next)) {
      const error: RunError = { _tag: "RouteError", step: name, target: String(next), message: `route of "${name}" returned "${String(next)}"; declared targets: ${edge.targets.join(", ")}` }
      await services.record({ type: "step.failed", ...base, error, attempts: tally.attempts, durationMs, at: Date.now() })
      throw error
    }
    const usageField = usage.reported ? { usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens } } : {}
    await services.record({ type: "step.finished", ...base, output, next, attempts: tally.attempts, durationMs, ...usageField, at: Date.now() })
    return { output, next }
  }
  const failure = Cause.findErrorOption(exit.cause)
  const error: RunError =
    failure._tag === "Some"
      ? serializeStepError(name, failure.value)
      : Cause.hasInterruptsOnly(exit.cause)
        ? { _tag: "CancelledError", step: name, message: `step "${name}" was cancelled` }
        : serializeStepError(name, Cause.squash(exit.cause))
  // A cancelled step's state has already been left: nothing will read this error but the journal.
  await services.record({ type: "step.failed", ...base, error, attempts: tally.attempts, durationMs, at: Date.now() })
  throw error
}

/**
 * The fast path for `fn` steps without retries or timeouts: plain code needs no fiber. An Effect
 * result still runs on Effect; a promise is raced with the step's signal so a cancelled step ends.
 */
const runPlainFn = async (
  run: (context: StepContext<unknown, Record<string, unknown>>) => unknown,
  name: string,
  context: StepContext<unknown, Record<string, unknown>>,
  signal: AbortSignal,
  chooseNext: (output: unknown) => string,
  routeError: (error: unknown) => StepError,
): Promise<Exit.Exit<StepDone, StepError>> => {
  let output: unknown
  try {
    output = run(context)
    if (Effect.isEffect(output)) {
      const exit = await Effect.runPromiseExit((output as Effect.Effect<unknown, unknown>).pipe(Effect.mapError((error) => toStepError(name, error))), { signal })
      if (Exit.isFailure(exit)) return exit as Exit.Exit<never, StepError>
      output = exit.value
    } else if (isThenable(output)) {
      output = await untilAborted(output, signal)
      if (output === aborted) return Exit.interrupt()
    }
  } catch (error) {
    return Exit.fail(toStepError(name, error))
  }
  try {
    return Exit.succeed({ output, next: chooseNext(output) })
  } catch (error) {
    return Exit.fail(routeError(error))
  }
}

const aborted = Symbol("aborted")
const untilAborted = (promise: PromiseLike<unknown>, signal: AbortSignal): Promise<unknown> => {
  if (signal.aborted) return Promise.resolve(aborted)
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(aborted)
    signal.addEventListener("abort", onAbort, { once: true })
    promise.then(
      (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
    )
  })
}

type Base = { readonly runId: string; readonly step: string; readonly visit: number }
type UsageTally = { inputTokens: number; outputTokens: number; reported: boolean }

const runKind = (
  step: AnyStep,
  name: string,
  context: StepContext<unknown, Record<string, unknown>>,
  policy: ResolvedPolicy,
  services: RunServices,
  onRetry: (attempt: number, error: StepError, delayMs: number) => void,
  usage: UsageTally,
  base: Base,
  tally: { attempts: number },
): Effect.Effect<unknown, StepError> => {
  switch (step.kind) {
    case "fn":
      return withPolicy(name, runCode(name, () => step.run(context)), policy, onRetry)
    case "tool":
      return withPolicy(name, runTool(step, name, context), policy, onRetry)
    case "llm":
      return runLlm(step, name, context, policy, services, onRetry, usage, base, tally)
    case "human":
      return Effect.fail(new ConfigurationError({ step: name, retryable: false, message: `human step "${name}" is not invoked` }))
  }
}

/** Runs user code that may return a value, a promise or an Effect; whatever it throws becomes a StepCodeError. */
const runCode = (name: string, run: () => unknown): Effect.Effect<unknown, StepError> =>
  Effect.suspend(() => {
    let result: unknown
    try {
      result = run()
    } catch (error) {
      return Effect.fail(codeError(name, error))
    }
    if (Effect.isEffect(result)) return (result as Effect.Effect<unknown, unknown>).pipe(Effect.mapError((error) => toStepError(name, error)))
    if (isThenable(result)) return Effect.tryPromise({ try: () => result as PromiseLike<unknown>, catch: (error) => toStepError(name, error) })
    return Effect.succeed(result)
  })

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"

const isStepError = (error: unknown): error is StepError =>
  error instanceof ModelError || error instanceof ToolError || error instanceof StepCodeError || error instanceof ConfigurationError ||
  (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "StepTimeoutError")

const toStepError = (name: string, error: unknown): StepError => (isStepError(error) ? error : codeError(name, error))
const codeError = (name: string, error: unknown) => new StepCodeError({ step: name, retryable: false, message: messageOf(error) })

const runTool = (step: ToolStep<unknown, unknown>, name: string, context: StepContext<unknown, Record<string, unknown>>): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const definition = step.tool
    const raw = yield* runCode(name, () => step.args(context))
    const args = definition.input.safeParse(raw)
    if (!args.success) {
      return yield* new ToolError({ tool: definition.name, reason: "invalid-arguments", retryable: false, message: `arguments of tool "${definition.name}" in step "${name}":\n${z.prettifyError(args.error)}` })
    }
    const idempotencyKey = `${context.runId}:${name}:${context.visit}`
    const result = yield* Effect.tryPromise({
      try: async (signal) => definition.run(args.data, { signal, idempotencyKey, runId: context.runId, step: name }),
      catch: (error) => (error instanceof ToolError ? error : new ToolError({ tool: definition.name, reason: "failed", retryable: definition.idempotent === true, message: messageOf(error) })),
    })
    if (definition.output === undefined) return result
    const checked = definition.output.safeParse(result)
    if (!checked.success) {
      return yield* new ToolError({ tool: definition.name, reason: "invalid-output", retryable: false, message: `output of tool "${definition.name}":\n${z.prettifyError(checked.error)}` })
    }
    return checked.data
  })

const jsonSchemas = new WeakMap<object, Record<string, unknown>>()
const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  let jsonSchema = jsonSchemas.get(schema)
  if (jsonSchema === undefined) jsonSchemas.set(schema, (jsonSchema = z.toJSONSchema(schema) as Record<string, unknown>))
  return jsonSchema
}

const runLlm = (
  step: LlmStep<unknown, unknown>,
  name: string,
  context: StepContext<unknown, Record<string, unknown>>,
  policy: ResolvedPolicy,
  services: RunServices,
  onRetry: (attempt: number, error: StepError, delayMs: number) => void,
  usage: UsageTally,
  base: Base,
  tally: { attempts: number },
): Effect.Effect<unknown, StepError> =>
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
