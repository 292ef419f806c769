// What the agent sub-chart's two actors do: one model turn, one batch of tool calls. Both journal
// what they did and take it from the journal on a resume, so a finished turn or tool call never
// runs twice. Loaded lazily with Effect (see compile-agent.ts).
import { executeStep } from "../execute-step.ts"
import type { RunContext } from "../../compile/run-context.ts"
import { visitKey, journaledName } from "../../contract/keys.ts"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { z } from "zod"
import { messageOf, serializeStepError, type RunError, type StepError } from "../../contract/errors.ts"
import type { AgentConversation, PendingCall, ToolsOutput, TurnOutput } from "../../compile/agent-conversation.ts"
import type { NormalizedEdge } from "../../definition/edges.ts"
import type { Message, ModelRequest, ToolCall, ToolDefinition } from "../../contract/model.ts"
import { toMillis } from "../../contract/duration.ts"
import type { ResolvedPolicy, StepPolicy } from "../../definition/policy.ts"
import type { UsageTotals } from "../../contract/events.ts"
import { addUsage, emptyUsage } from "../../contract/usage.ts"
import type { AgentStep } from "../../definition/steps/agent.ts"
import { call, jsonSchemaOf, parseOutput, repairPrompt, withFallback } from "../steps/run-llm.ts"
import { noThread } from "../../contract/thread.ts"
import type { AnyStep, StepContext } from "../../definition/steps/step.ts"
import type { RunServices, StepRun, UsageTally } from "../services.ts"
import type { Tool } from "../../definition/steps/tool.ts"
import { trimHistory } from "./trim-history.ts"

interface AgentGraph {
  readonly steps: ReadonlyMap<string, AnyStep>
  readonly edges: ReadonlyMap<string, NormalizedEdge>
  readonly policy?: StepPolicy | undefined
}

const conversationOf = (context: RunContext, name: string) => context.agents?.[name] as AgentConversation
const stepContextOf = (context: RunContext, conversation: AgentConversation, services: RunServices, signal: AbortSignal): StepContext<unknown, Record<string, unknown>> => ({
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
  try {
    return definition.approval(args.data) ? "needed" : "none"
  } catch {
    return "needed"
  }
}

const openingMessages = (step: AgentStep<unknown, unknown>, context: StepContext<unknown, Record<string, unknown>>): Message[] => {
  const prompt = step.prompt(context)
  const messages: Message[] = typeof prompt === "string" ? [{ role: "user", content: prompt }] : [...prompt]
  const system = typeof step.system === "function" ? step.system(context) : step.system
  return system === undefined ? messages : [{ role: "system", content: system }, ...messages]
}

const freshTally = (): UsageTally => ({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 })

const failureOf = (name: string, exit: Exit.Exit<unknown, StepError>): RunError => {
  if (Exit.isSuccess(exit)) return { _tag: "StepCodeError", step: name, retryable: false, message: "unreachable" }
  const failure = Cause.findErrorOption(exit.cause)
  if (failure._tag === "Some") return serializeStepError(name, failure.value)
  if (Cause.hasInterruptsOnly(exit.cause)) return { _tag: "CancelledError", step: name, message: `step "${name}" was cancelled` }
  return serializeStepError(name, Cause.squash(exit.cause))
}

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
  const { visit } = conversation
  const turn = conversation.turns + 1
  const base = { runId: services.runId, step: name, visit }
  // Model calls, retries and fallbacks carry the turn, so a resumed run tells its turns apart.
  const turnBase = { ...base, turn }
  const stepContext = stepContextOf(context, conversation, services, signal)
  const finishedBefore = services.replay?.steps.has(visitKey(name, visit)) === true
  const fail = async (error: RunError, usage: UsageTotals): Promise<never> => {
    if (!finishedBefore) {
      await services.record({ type: "step.failed", ...base, error, attempts: turn, durationMs: Date.now() - conversation.startedAt, usage: addUsage(conversation.usage, usage), at: Date.now() })
    }
    throw error
  }
  let opening: Message[] | undefined
  if (turn === 1) {
    await services.record({ type: "step.started", ...base, at: Date.now() })
    try {
      opening = openingMessages(step, stepContext)
    } catch (error) {
      return fail({ _tag: "StepCodeError", step: name, retryable: false, message: `prompt of "${name}" threw: ${messageOf(error)}` }, emptyUsage)
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
    const stepRun: StepRun = {
      name,
      context: stepContext,
      policy,
      services,
      onRetry: (failedAttempt, error, delayMs) =>
        void services.record({ type: "step.retried", ...turnBase, attempt: failedAttempt, error: serializeStepError(name, error), delayMs, at: Date.now() }),
      usage: tally,
      base: turnBase,
      tally: { attempts: 1 },
      executeStep,
    }
    const exit = await Effect.runPromiseExit(withFallback([step.model, ...(step.fallback ?? [])], stepRun, (model) => call(model, request, stepRun, false)), { signal })
    if (Exit.isFailure(exit)) return fail(failureOf(name, exit), tally)
    ;({ text } = exit.value)
    toolCalls = (exit.value.toolCalls ?? []).map((toolCall, index) => (toolCall.id === "" ? { ...toolCall, id: `call_${turn}_${index}` } : toolCall))
    usage = { ...tally }
    elapsedMs = Date.now() - conversation.startedAt
    await services.record({ type: "agent.turned", ...base, turn, text, toolCalls, usage, elapsedMs, at: Date.now() })
  }
  const calls = toolCalls.map((toolCall): PendingCall => ({ id: toolCall.id, name: toolCall.name, arguments: toolCall.arguments, approval: approvalOf(step, toolCall) }))
  const common = { turn, ...(opening === undefined ? {} : { opening }), text, calls, usage, elapsedMs, runUsage, runElapsedMs }
  if (calls.length > 0) return common
  const parsed = parseAnswer(step, text)
  if (!parsed.success) return { ...common, invalid: parsed.feedback }
  let next: string
  try {
    next = edge.select === undefined ? (edge.targets[0] as string) : edge.select({ output: parsed.value, input: context.input, steps: context.steps, visit })
  } catch (error) {
    return fail({ _tag: "StepCodeError", step: name, retryable: false, message: `route of "${name}" threw: ${messageOf(error)}` }, usage)
  }
  if (!edge.targets.includes(next)) {
    return fail({ _tag: "RouteError", step: name, target: String(next), message: `route of "${name}" returned "${String(next)}"; declared targets: ${edge.targets.join(", ")}` }, usage)
  }
  if (!finishedBefore) {
    await services.record({ type: "step.finished", ...base, output: parsed.value, next, attempts: turn, durationMs: Date.now() - conversation.startedAt, usage: addUsage(conversation.usage, usage), at: Date.now() })
  }
  return { ...common, answer: { output: parsed.value, next } }
}

const parseAnswer = (step: AgentStep<unknown, unknown>, text: string): { readonly success: true; readonly value: unknown } | { readonly success: false; readonly feedback: string } => {
  const parsed = parseOutput(step, text)
  return parsed.success ? parsed : { success: false, feedback: repairPrompt(parsed.problem, parsed.issues) }
}

type CallResult = ToolsOutput["results"][number]

/** Runs the pending tool calls of the latest turn, at most `toolConcurrency` at once; every failure becomes an error result for the model. */
export const runAgentTools = async (graph: AgentGraph, stepName: string, context: RunContext, services: RunServices, signal: AbortSignal): Promise<ToolsOutput> => {
  const step = graph.steps.get(stepName) as AgentStep<unknown, unknown>
  const conversation = conversationOf(context, stepName)
  const name = journaledName(services, stepName)
  const { visit, turns } = conversation
  const base = { runId: services.runId, step: name, visit }
  let ranLive = false
  const runOne = (pending: PendingCall): Effect.Effect<CallResult> => {
    const result = (content: string, isError: boolean, ran = true): CallResult => ({ callId: pending.id, name: pending.name, content, isError, ran })
    if (typeof pending.approval === "object") return Effect.succeed(result(`A person reviewing this call rejected it: ${pending.approval.rejected}`, true, false))
    // The turn is part of the key: a model's call ids need only be unique within its answer.
    const key = `${visitKey(name, visit)}#${turns}#${pending.id}`
    const replayed = services.replay?.toolResults?.get(key)
    if (replayed !== undefined) {
      return Effect.succeed("error" in replayed ? result(`error: ${replayed.error.message}`, true) : result(contentOf(replayed.result), false))
    }
    ranLive = true
    const callStarted = Date.now()
    const journal = (outcome: { readonly result: unknown } | { readonly error: RunError }, args: unknown) =>
      Effect.promise(async () =>
        services.record({ type: "tool.called", ...base, tool: pending.name, callId: pending.id, turn: turns, args, ...outcome, durationMs: Date.now() - callStarted, at: Date.now() }))
    const toolError = (reason: "invalid-arguments" | "invalid-output" | "failed", message: string): RunError => ({ _tag: "ToolError", step: name, tool: pending.name, reason, retryable: false, message })
    const definition: Tool<unknown, unknown> | undefined = step.tools[pending.name]
    if (definition === undefined) {
      const error = toolError("invalid-arguments", `unknown tool "${pending.name}"; the tools are: ${Object.keys(step.tools).join(", ") || "none"}`)
      return journal({ error }, pending.arguments).pipe(Effect.as(result(`error: ${error.message}`, true)))
    }
    // Invalid arguments never reach the tool: the model gets the issues and may try again.
    const args = definition.input.safeParse(pending.arguments)
    if (!args.success) {
      const error = toolError("invalid-arguments", `invalid arguments for tool "${pending.name}":\n${z.prettifyError(args.error)}`)
      return journal({ error }, pending.arguments).pipe(Effect.as(result(`error: ${error.message}`, true)))
    }
    const idempotencyKey = `${services.runId}:${name}:${visit}:${turns}:${pending.id}`
    let program: Effect.Effect<unknown, RunError> = Effect.tryPromise({
      try: async (toolSignal) => definition.run(args.data, { signal: toolSignal, idempotencyKey, runId: services.runId, step: name }),
      catch: (error) => toolError("failed", messageOf(error)),
    })
    if (definition.timeout !== undefined) {
      const ms = toMillis(definition.timeout, `tool "${pending.name}" timeout`)
      program = program.pipe(
        Effect.timeout(ms),
        Effect.catchTag("TimeoutError", () => Effect.fail(toolError("failed", `tool "${pending.name}" timed out after ${ms}ms`))),
      ) as Effect.Effect<unknown, RunError>
    }
    return program.pipe(
      Effect.flatMap((value) => {
        if (definition.output === undefined) return Effect.succeed(value)
        const checked = definition.output.safeParse(value)
        return checked.success ? Effect.succeed(checked.data) : Effect.fail(toolError("invalid-output", `output of tool "${pending.name}":\n${z.prettifyError(checked.error)}`))
      }),
      Effect.matchEffect({
        onSuccess: (value) => journal({ result: value }, args.data).pipe(Effect.as(result(contentOf(value), false))),
        onFailure: (error) => journal({ error }, args.data).pipe(Effect.as(result(`error: ${error.message}`, true))),
      }),
    )
  }
  const exit = await Effect.runPromiseExit(Effect.forEach(conversation.pending, runOne, { concurrency: step.toolConcurrency }), { signal })
  if (Exit.isFailure(exit)) throw failureOf(name, exit as unknown as Exit.Exit<never, StepError>)
  // A replayed batch keeps the clock where the journal left it, so time budgets decide the same way.
  const elapsedMs = ranLive ? Date.now() - conversation.startedAt : conversation.elapsedMs
  return { results: exit.value, elapsedMs }
}

const contentOf = (value: unknown): string => (typeof value === "string" ? value : (JSON.stringify(value) ?? "null"))
