import type { RunContext, StepDone } from "../compile/run-context.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { journaledName } from "../contract/keys.ts"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { ConfigurationError, StepCodeError, messageOf, serializeStepError, type RunError, type StepError } from "../contract/errors.ts"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { ResolvedPolicy } from "../definition/policy.ts"
import { withPolicy } from "./with-policy.ts"
import { runCode, runPlainFn } from "./steps/run-code.ts"
import { firstAttempt, runLlm } from "./steps/run-llm.ts"
import { runMap } from "./steps/run-map.ts"
import { runNested } from "./steps/run-nested.ts"
import { runTool } from "./steps/run-tool.ts"
import { runRetrieve } from "./steps/run-retrieve.ts"
import type { AnyStep, LlmStep, StepContext } from "../definition/steps/step.ts"
import type { RunServices, StepRun } from "./services.ts"
import { noThread } from "../contract/thread.ts"
import { threadExchangeOf } from "./thread-session.ts"

/** Runs one visit of a step as an Effect program and journals its start and end; rejects with a RunError. */
export const executeStep = async (
  graph: PipelineGraph,
  stepName: string,
  policy: ResolvedPolicy,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
): Promise<StepDone> => {
  const step = graph.steps.get(stepName) as AnyStep
  const edge = graph.edges.get(stepName) as NormalizedEdge
  const visit = context.visits[stepName] ?? 1
  const name = journaledName(services, stepName)
  const started = Date.now()
  const base = { runId: services.runId, step: name, visit }
  const tally = { attempts: 1 }
  const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 }
  await services.record({ type: "step.started", ...base, at: started })
  const stepContext: StepContext<unknown, Record<string, unknown>> = { input: context.input, steps: context.steps, visit, runId: services.runId, signal, thread: services.thread?.() ?? noThread }
  const onRetry = (failedAttempt: number, error: StepError, delayMs: number) => {
    tally.attempts += 1
    void services.record({ type: "step.retried", ...base, attempt: failedAttempt, error: serializeStepError(name, error), delayMs, at: Date.now() })
  }
  const chooseNext = (output: unknown) =>
    edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output, input: context.input, steps: context.steps, visit })
  const routeError = (error: unknown) => new StepCodeError({ step: name, retryable: false, message: `route of "${name}" threw: ${messageOf(error)}` })
  const stepRun: StepRun = { name, context: stepContext, policy, services, onRetry, usage, base, tally, pipelinePolicy: graph.policy, executeStep }
  const program = Effect.gen(function* () {
    const output = yield* runKind(step, stepRun)
    const next = yield* Effect.try({ try: () => chooseNext(output), catch: routeError })
    return { output, next }
  })
  const usageField = () => (usage.calls === 0 ? {} : { usage: { ...usage } })
  const exit =
    step.kind === "fn" && policy.attempts === 1 && policy.attemptTimeoutMs === undefined && policy.timeoutMs === undefined
      ? await runPlainFn(step.run, name, stepContext, signal, chooseNext, routeError)
      : step.kind === "llm" && policy.timeoutMs === undefined
        ? await runLlmFirst(step, stepRun, signal, chooseNext, routeError)
        : await Effect.runPromiseExit(program, { signal })
  const durationMs = Date.now() - started
  if (Exit.isSuccess(exit)) {
    const { output, next } = exit.value
    if (!edge.targets.includes(next)) {
      const error: RunError = { _tag: "RouteError", step: name, target: String(next), message: `route of "${name}" returned "${String(next)}"; declared targets: ${edge.targets.join(", ")}` }
      await services.record({ type: "step.failed", ...base, error, attempts: tally.attempts, durationMs, ...usageField(), at: Date.now() })
      throw error
    }
    const thread = threadExchangeOf(step, stepContext, output)
    await services.record({ type: "step.finished", ...base, output, next, attempts: tally.attempts, durationMs, ...usageField(), ...(thread === undefined ? {} : { thread }), at: Date.now() })
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
  await services.record({ type: "step.failed", ...base, error, attempts: tally.attempts, durationMs, ...usageField(), at: Date.now() })
  throw error
}


/**
 * An llm step without a step timeout: its first attempt runs without a fiber ({@link firstAttempt});
 * only a failed one goes on to Effect, whose retries and fallbacks start from that failure.
 */
const runLlmFirst = async (
  step: LlmStep<unknown, unknown>,
  stepRun: StepRun,
  signal: AbortSignal,
  chooseNext: (output: unknown) => string,
  routeError: (error: unknown) => StepError,
): Promise<Exit.Exit<StepDone, StepError>> => {
  const first = await firstAttempt(step, stepRun, signal)
  if ("output" in first) {
    try {
      return Exit.succeed({ output: first.output, next: chooseNext(first.output) })
    } catch (error) {
      return Exit.fail(routeError(error))
    }
  }
  // The step was left while its first call was out: a cancellation, as Effect would report it.
  if (signal.aborted) return Exit.interrupt()
  const program = runLlm(step, stepRun, first).pipe(Effect.flatMap((output) => Effect.try({ try: () => ({ output, next: chooseNext(output) }), catch: routeError })))
  return Effect.runPromiseExit(program, { signal })
}

const runKind = (step: AnyStep, stepRun: StepRun): Effect.Effect<unknown, StepError> => {
  const { name, context, policy, onRetry } = stepRun
  switch (step.kind) {
    case "fn":
      return withPolicy(name, runCode(name, () => step.run(context)), policy, onRetry)
    case "tool":
      return withPolicy(name, runTool(step, stepRun), policy, onRetry)
    case "llm":
      return runLlm(step, stepRun)
    case "retrieve":
      return runRetrieve(step, stepRun)
    case "human":
    case "agent":
      // Both are sub-charts of the machine, never invoked as one actor.
      return Effect.fail(new ConfigurationError({ step: name, retryable: false, message: `${step.kind} step "${name}" is not invoked` }))
    case "map":
      return runMap(step, stepRun)
    case "pipeline":
      return runNested(step, stepRun)
    case "parallel":
      return Effect.fail(new ConfigurationError({ step: name, retryable: false, message: `parallel step "${name}" runs as branches of a parallel state, not as one actor` }))
  }
}

