// What the agent sub-chart's two actors do: one model turn, one batch of tool calls. Both journal
// what they did and take it from the journal on a resume, so a finished turn or tool call never
// runs twice. Both run through the one attempt executor (run/attempt.ts); loaded lazily (see
// agent-actors.ts).

import { z } from "zod"
import type { AgentConversation, PendingCall, ToolsOutput, TurnOutput } from "../../compile/agent-conversation.ts"
import type { RunContext } from "../../compile/run-context.ts"
import { messageOf, type RunError, StepTimeoutError, serializeStepError, ToolError, thrownIn, undeclaredTarget, withEvidenceOf } from "../../contract/errors.ts"
import type { UsageTotals } from "../../contract/events.ts"
import { journaledName, visitKey } from "../../contract/keys.ts"
import type { Message, ModelRequest, ModelResponse, ToolCall, ToolDefinition } from "../../contract/model.ts"
import { noThread } from "../../contract/thread.ts"
import { addUsage, emptyUsage } from "../../contract/usage.ts"
import type { NormalizedEdge } from "../../definition/edges.ts"
import { type ResolvedPolicy, resolvePolicy, type StepPolicy } from "../../definition/policy.ts"
import type { AgentStep } from "../../definition/steps/agent.ts"
import { callNeedsApproval } from "../../definition/steps/approval.ts"
import type { AnyStep, StepContext } from "../../definition/steps/step.ts"
import type { Tool } from "../../definition/steps/tool.ts"
import { type AttemptScope, cancelledError, type OnRetry, runAttempts } from "../attempt.ts"
import { executeStep } from "../execute-step.ts"
import { outputRefusal } from "../json-values.ts"
import { promptCacheHint } from "../prompt-cache-hint.ts"
import type { RunServices, StepRun, UsageTally } from "../services.ts"
import { StepJournal } from "../step-journal.ts"
import { callModel, jsonSchemaOf, parseOutput, promptMessages, repairPrompt, withFallback } from "../steps/run-llm.ts"
import { journaledFrom, recordingConversation } from "./journaled-conversation.ts"
import { trimHistory } from "./trim-history.ts"

interface AgentGraph {
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy?: StepPolicy | undefined
}

const conversationOf = (context: RunContext, name: string) => context.agents?.[name] as AgentConversation
const stepContextOf = (
  context: RunContext,
  conversation: AgentConversation,
  services: RunServices,
  signal: AbortSignal,
): StepContext<unknown, Record<string, unknown>> => ({
  input: context.input,
  steps: context.steps,
  visit: conversation.visit,
  runId: services.runId,
  signal,
  thread: services.thread?.() ?? noThread,
})

const toolDefinitions = new WeakMap<object, readonly ToolDefinition[]>()
const definitionsOf = (step: AgentStep<unknown, unknown>): readonly ToolDefinition[] => {
  let definitions = toolDefinitions.get(step)
  if (definitions === undefined) {
    definitions = Object.entries(step.tools).map(([name, definition]) => ({
      name,
      ...(definition.description === undefined ? {} : { description: definition.description }),
      inputSchema: jsonSchemaOf(definition.input as z.ZodType),
    }))
    toolDefinitions.set(step, definitions)
  }
  return definitions
}

// A predicate that throws asks a person: when unsure, the safe side is to wait.
const approvalOf = (step: AgentStep<unknown, unknown>, toolCall: ToolCall): PendingCall["approval"] => {
  const definition = step.tools[toolCall.name]
  if (definition?.approval === undefined || definition.approval === false) return "none"
  if (definition.approval === true) return "needed"
  const args = definition.input.safeParse(toolCall.arguments)
  if (!args.success) return "none"
  return callNeedsApproval(definition.approval, args.data) ? "needed" : "none"
}

const freshTally = (): UsageTally => ({ ...emptyUsage })

/** One model turn of an agent step: the model's answer, or the tool calls it asks for. */
export const runAgentTurn = async (
  graph: AgentGraph,
  stepName: string,
  policy: ResolvedPolicy,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
): Promise<TurnOutput> => {
  const step = graph.steps.get(stepName) as AgentStep<unknown, unknown>
  const edge = graph.edges.get(stepName) as NormalizedEdge
  const conversation = conversationOf(context, stepName)
  const name = journaledName(services, stepName)
  // A cancelled run starts no turn: its prompt and route are user code.
  if (signal.aborted) throw cancelledError(name)
  const { visit } = conversation
  const turn = conversation.turns + 1
  const base = { runId: services.runId, step: name, visit }
  // Model calls, retries and fallbacks carry the turn, so a resumed run tells its turns apart.
  const turnBase = { ...base, turn }
  const stepContext = stepContextOf(context, conversation, services, signal)
  const finishedBefore = services.replay?.steps.has(visitKey(name, visit)) === true
  const fail = async (error: RunError, usage: UsageTotals): Promise<never> => {
    if (!finishedBefore) {
      await services.record({
        type: "step.failed",
        ...base,
        error,
        attempts: turn,
        durationMs: Date.now() - conversation.startedAt,
        usage: addUsage(conversation.usage, usage),
        at: Date.now(),
      })
    }
    throw error
  }
  let opening: Message[] | undefined
  if (turn === 1) {
    await services.record({ type: "step.started", ...base, at: Date.now() })
    try {
      opening = promptMessages(step, stepContext)
    } catch (error) {
      return fail(serializeStepError(name, thrownIn(name, "prompt", error)), emptyUsage)
    }
  }
  const runUsage = services.usage?.() ?? emptyUsage
  const runElapsedMs = services.startedAt === undefined ? 0 : Date.now() - services.startedAt
  const replayed = services.replay?.turns?.get(`${visitKey(name, visit)}#${turn}`)
  let text: string
  let toolCalls: readonly ToolCall[]
  let usage: UsageTotals
  let elapsedMs: number
  if (replayed !== undefined) {
    ;({ text, toolCalls, usage, elapsedMs } = replayed)
  } else {
    const messages = opening ?? conversation.messages
    const request: ModelRequest = {
      messages: step.history === undefined ? messages : trimHistory(messages, step.history.maxTokens),
      ...(Object.keys(step.tools).length === 0 ? {} : { tools: definitionsOf(step) }),
      ...(step.temperature === undefined ? {} : { temperature: step.temperature }),
      ...(step.maxOutputTokens === undefined ? {} : { maxOutputTokens: step.maxOutputTokens }),
    }
    const tally = freshTally()
    const journal = new StepJournal(services.record, name, services.journalFailure)
    const onRetry: OnRetry = (failedAttempt, error, delayMs) =>
      journal.record({ type: "step.retried", ...turnBase, attempt: failedAttempt, error: serializeStepError(name, error), delayMs, at: Date.now() })
    // The step's timeout bounds one model turn (its retries and fallbacks), not the whole loop.
    const deadline = policy.timeoutMs === undefined ? undefined : Date.now() + policy.timeoutMs
    const scope: AttemptScope = { step: name, policy, signal, deadline, onRetry, journal }
    const stepRun: StepRun = {
      name,
      context: stepContext,
      policy,
      services,
      scope,
      // The journal keeps only what the conversation gained since the call before.
      record: recordingConversation(journal.record, messages, request.messages, journaledFrom(services, name, visit, turn, conversation.askedWith)),
      usage: tally,
      base: turnBase,
      tally: { attempts: 1 },
      executeStep,
    }
    let response: ModelResponse
    try {
      response = await withFallback([step.model, ...(step.fallback ?? [])], stepRun, (model, attemptSignal) =>
        callModel(model, request, stepRun, false, attemptSignal, promptCacheHint(step, services, name, false)),
      )
    } catch (error) {
      return fail(serializeStepError(name, error), tally)
    }
    if (journal.refusal !== undefined) return fail(journal.refusal, tally)
    ;({ text } = response)
    toolCalls = (response.toolCalls ?? []).map((toolCall, index) => (toolCall.id === "" ? { ...toolCall, id: `call_${turn}_${index}` } : toolCall))
    usage = { ...tally }
    elapsedMs = Date.now() - conversation.startedAt
    await services.record({ type: "agent.turned", ...base, turn, text, toolCalls, usage, elapsedMs, at: Date.now() })
  }
  const calls = toolCalls.map(
    (toolCall): PendingCall => ({ id: toolCall.id, name: toolCall.name, arguments: toolCall.arguments, approval: approvalOf(step, toolCall) }),
  )
  const common = { turn, ...(opening === undefined ? {} : { opening }), text, calls, usage, elapsedMs, runUsage, runElapsedMs }
  if (calls.length > 0) return common
  const parsed = parseAnswer(step, text)
  if (!parsed.success) return { ...common, invalid: parsed.feedback }
  // An output schema may transform the answer (into a Date, say): what a journal cannot keep fails the step.
  const refused = outputRefusal(name, stepName, parsed.value)
  if (refused !== undefined) return fail(refused, usage)
  let next: string
  try {
    next = edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output: parsed.value, input: context.input, steps: context.steps, visit })
  } catch (error) {
    return fail(serializeStepError(name, thrownIn(name, "route", error)), usage)
  }
  if (!edge.targets.includes(next)) {
    return fail(undeclaredTarget(name, next, edge.targets), usage)
  }
  if (!finishedBefore) {
    await services.record({
      type: "step.finished",
      ...base,
      output: parsed.value,
      next,
      attempts: turn,
      durationMs: Date.now() - conversation.startedAt,
      usage: addUsage(conversation.usage, usage),
      at: Date.now(),
    })
  }
  return { ...common, answer: { output: parsed.value, next } }
}

const parseAnswer = (
  step: AgentStep<unknown, unknown>,
  text: string,
): { readonly success: true; readonly value: unknown } | { readonly success: false; readonly feedback: string } => {
  const parsed = parseOutput(step, text)
  return parsed.success ? parsed : { success: false, feedback: repairPrompt(parsed.problem, parsed.issues) }
}

type CallResult = ToolsOutput["results"][number]

/** Runs the pending tool calls of the latest turn, at most `toolConcurrency` at once; every failure becomes an error result for the model. */
export const runAgentTools = async (
  graph: AgentGraph,
  stepName: string,
  context: RunContext,
  services: RunServices,
  signal: AbortSignal,
): Promise<ToolsOutput> => {
  const step = graph.steps.get(stepName) as AgentStep<unknown, unknown>
  const conversation = conversationOf(context, stepName)
  const name = journaledName(services, stepName)
  const { visit, turns } = conversation
  const base = { runId: services.runId, step: name, visit }
  const journaled = new StepJournal(services.record, name, services.journalFailure)
  let ranLive = false
  const runOne = async (pending: PendingCall): Promise<CallResult> => {
    const result = (content: string, isError: boolean, ran = true): CallResult => ({ callId: pending.id, name: pending.name, content, isError, ran })
    if (typeof pending.approval === "object") {
      // A deadline that passed refuses the call like a person would, but the model is told which it was.
      const refusal = pending.approval.expired === true ? pending.approval.rejected : `A person reviewing this call rejected it: ${pending.approval.rejected}`
      return result(refusal, true, false)
    }
    // The turn is part of the key: a model's call ids need only be unique within its answer.
    const key = `${visitKey(name, visit)}#${turns}#${pending.id}`
    const replayed = services.replay?.toolResults?.get(key)
    if (replayed !== undefined) return "error" in replayed ? result(`error: ${replayed.error.message}`, true) : result(contentOf(replayed.result), false)
    // A cancelled batch, or one whose journal refused a write, starts no more calls.
    if (signal.aborted) throw cancelledError(name)
    if (journaled.refusal !== undefined) throw journaled.refusal
    ranLive = true
    const callStarted = Date.now()
    const journal = async (outcome: { readonly result: unknown } | { readonly error: RunError }, args: unknown): Promise<CallResult> => {
      await journaled.record({
        type: "tool.called",
        ...base,
        tool: pending.name,
        callId: pending.id,
        turn: turns,
        args,
        ...outcome,
        durationMs: Date.now() - callStarted,
        at: Date.now(),
      })
      return "result" in outcome ? result(contentOf(outcome.result), false) : result(`error: ${outcome.error.message}`, true)
    }
    const toolError = (reason: "invalid-arguments" | "invalid-output" | "failed", message: string): RunError => ({
      _tag: "ToolError",
      step: name,
      tool: pending.name,
      reason,
      retryable: false,
      message,
    })
    const definition: Tool<unknown, unknown> | undefined = step.tools[pending.name]
    if (definition === undefined) {
      return journal(
        { error: toolError("invalid-arguments", `unknown tool "${pending.name}"; the tools are: ${Object.keys(step.tools).join(", ") || "none"}`) },
        pending.arguments,
      )
    }
    // Invalid arguments never reach the tool: the model gets the issues and may try again.
    const args = definition.input.safeParse(pending.arguments)
    if (!args.success)
      return journal(
        { error: toolError("invalid-arguments", `invalid arguments for tool "${pending.name}":\n${z.prettifyError(args.error)}`) },
        pending.arguments,
      )
    const idempotencyKey = `${services.runId}:${name}:${visit}:${turns}:${pending.id}`
    let value: unknown
    try {
      value = await runAttempts(
        toolCallScope(name, definition, signal),
        (toolSignal) => definition.run(args.data, { signal: toolSignal, idempotencyKey, runId: services.runId, step: name }),
        { toError: (thrown) => withEvidenceOf(new ToolError({ tool: pending.name, reason: "failed", retryable: false, message: messageOf(thrown) }), thrown) },
      )
    } catch (thrown) {
      // Cancelled: the call was abandoned, not failed; nothing to journal.
      if (signal.aborted) throw cancelledError(name)
      const error =
        thrown instanceof StepTimeoutError ? toolError("failed", `tool "${pending.name}" timed out after ${thrown.ms}ms`) : serializeStepError(name, thrown)
      return journal({ error }, args.data)
    }
    if (definition.output === undefined) return journal({ result: value }, args.data)
    const checked = definition.output.safeParse(value)
    if (!checked.success)
      return journal({ error: toolError("invalid-output", `output of tool "${pending.name}":\n${z.prettifyError(checked.error)}`) }, args.data)
    return journal({ result: checked.data }, args.data)
  }
  const { pending } = conversation
  const results: CallResult[] = new Array(pending.length)
  let next = 0
  const worker = async () => {
    for (let index = next++; index < pending.length; index = next++) results[index] = await runOne(pending[index] as PendingCall)
  }
  // A failed worker (the batch was cancelled) rejects the batch; the others then stop at their next call.
  await Promise.all(Array.from({ length: Math.min(step.toolConcurrency, pending.length) }, worker))
  if (journaled.refusal !== undefined) throw journaled.refusal
  // A replayed batch keeps the clock where the journal left it, so time budgets decide the same way.
  const elapsedMs = ranLive ? Date.now() - conversation.startedAt : conversation.elapsedMs
  return { results, elapsedMs }
}

// A tool call of an agent is attempted once (a failure goes back to the model), within the tool's own timeout.
const toolCallPolicies = new WeakMap<object, ResolvedPolicy>()
const toolCallScope = (step: string, definition: Tool<unknown, unknown>, signal: AbortSignal): AttemptScope => {
  let policy = toolCallPolicies.get(definition)
  if (policy === undefined) {
    policy = resolvePolicy(`tool "${definition.name}"`, { retry: false, ...(definition.timeout === undefined ? {} : { attemptTimeout: definition.timeout }) })
    toolCallPolicies.set(definition, policy)
  }
  return { step, policy, signal, deadline: undefined, onRetry: () => {} }
}

const contentOf = (value: unknown): string => (typeof value === "string" ? value : (JSON.stringify(value) ?? "null"))
