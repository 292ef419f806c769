import { type RunError, type StepError, serializeStepError, thrownIn, undeclaredTarget } from "../contract/errors.ts"
import { journaledName } from "../contract/keys.ts"
import { noThread } from "../contract/thread.ts"
import { emptyUsage } from "../contract/usage.ts"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { AnyStep, StepContext } from "../definition/steps/step.ts"
import { type AttemptScope, cancelledError } from "./attempt.ts"
import { outputRefusal } from "./json-values.ts"
import type { ExecuteStep, StepRun } from "./services.ts"
import { StepJournal } from "./step-journal.ts"
import { runStepKind } from "./step-kinds.ts"
import { threadExchangeOf } from "./thread-session.ts"

/**
 * Runs one visit of a step, its attempts through the one attempt executor (run/attempt.ts), and
 * journals its start and end; rejects with a RunError. No user code runs once `signal` has
 * aborted or the journal has refused a write.
 */
export const executeStep: ExecuteStep = async (graph, stepName, policy, context, services, signal) => {
  const name = journaledName(services, stepName)
  // A run cancelled before this step began (a run started with an aborted signal) runs none of it.
  if (signal.aborted) throw cancelledError(name)
  const step = graph.steps.get(stepName) as AnyStep
  const edge = graph.edges.get(stepName) as NormalizedEdge
  const visit = context.visits[stepName] ?? 1
  const started = Date.now()
  const base = { runId: services.runId, step: name, visit }
  const tally = { attempts: 1 }
  const usage = { ...emptyUsage }
  const journal = new StepJournal(services.record, name, services.journalFailure)
  const { record } = journal
  await record({ type: "step.started", ...base, at: started })
  const stepContext: StepContext<unknown, Record<string, unknown>> = {
    input: context.input,
    steps: context.steps,
    visit,
    runId: services.runId,
    signal,
    thread: services.thread?.() ?? noThread,
    ...(context.routedError?.to === stepName && context.routedError.visit === visit ? { error: context.routedError.error } : {}),
  }
  const onRetry = (failedAttempt: number, error: StepError, delayMs: number) => {
    tally.attempts += 1
    return record({ type: "step.retried", ...base, attempt: failedAttempt, error: serializeStepError(name, error), delayMs, at: Date.now() })
  }
  const chooseNext = (output: unknown) =>
    edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output, input: context.input, steps: context.steps, visit })
  const routeError = (error: unknown) => thrownIn(name, "route", error)
  const scope: AttemptScope = {
    step: name,
    policy,
    signal,
    deadline: policy.timeoutMs === undefined ? undefined : started + policy.timeoutMs,
    onRetry,
    journal,
  }
  const stepRun: StepRun = { name, context: stepContext, policy, services, scope, record, usage, base, tally, pipelinePolicy: graph.policy, executeStep }
  const usageField = () => (usage.calls === 0 ? {} : { usage: { ...usage } })
  const fail = async (error: RunError): Promise<never> => {
    // A cancelled step's state has already been left: nothing will read this error but the journal.
    await record({ type: "step.failed", ...base, error, attempts: tally.attempts, durationMs: Date.now() - started, ...usageField(), at: Date.now() })
    throw error
  }
  let output: unknown
  try {
    output = await runStepKind(step, stepRun)
  } catch (error) {
    return fail(serializeStepError(name, error))
  }
  // The route is user code too: not once the step was cancelled or its journal refused a write.
  const stopped = signal.aborted ? cancelledError(name) : journal.refusal
  if (stopped !== undefined) return fail(stopped)
  // JSON has no undefined: a step that returns nothing has the output null, live and resumed alike.
  if (output === undefined) output = null
  // What a journal would change (a Date, a Map, NaN) or refuse (a BigInt, a cycle) fails the step here, on every journal.
  const refused = outputRefusal(name, stepName, output)
  if (refused !== undefined) return fail(refused)
  let next: string
  try {
    next = chooseNext(output)
  } catch (error) {
    return fail(serializeStepError(name, routeError(error)))
  }
  if (!edge.targets.includes(next)) {
    return fail(undeclaredTarget(name, next, edge.targets))
  }
  const thread = threadExchangeOf(step, stepContext, output)
  await record({
    type: "step.finished",
    ...base,
    output,
    next,
    attempts: tally.attempts,
    durationMs: Date.now() - started,
    ...usageField(),
    ...(thread === undefined ? {} : { thread }),
    at: Date.now(),
  })
  // Not journaled as finished, so not finished: the machine must not move on.
  if (journal.refusal !== undefined) throw journal.refusal
  return { output, next }
}
