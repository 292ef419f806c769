import type { z } from "zod"
import type { DurationInput } from "../../contract/duration.ts"
import type { Message, Model, PromptCacheHint } from "../../contract/model.ts"
import type { AgentStopContext } from "../agent-stop-rules.ts"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { StopRule } from "../stop-rules.ts"
import { approvalTimeoutMs, asksApproval } from "./approval.ts"
import type { StepContext } from "./step.ts"
import type { Tool } from "./tool.ts"

/**
 * A model-decided loop: the model thinks, calls tools, sees their results, and thinks again until
 * it answers or a stop rule fires. It compiles to a sub-chart of the pipeline's machine:
 * `<step>.thinking → <step>.callingTools (→ <step>.awaitingApproval) → <step>.thinking … → <step>.finished`.
 *
 * @example
 * const step: AgentStep<string, StepContext<{ question: string }, {}>> = agent({ model: "smart", prompt: ({ input }) => input.question, tools: {}, stop: [maxSteps(3)] })
 */
export interface AgentStep<TOutput, TContext> {
  readonly kind: "agent"
  /** Phantom: carries the step's output type. Never set at run time. */
  readonly "~output"?: TOutput
  readonly description?: string
  readonly policy?: StepPolicy
  readonly model: string | Model
  readonly prompt: (context: TContext) => string | readonly Message[]
  readonly system?: string | ((context: TContext) => string)
  /** Offered to the model under their keys. */
  // biome-ignore lint/suspicious/noExplicitAny: each tool's argument and result types are its own
  readonly tools: Readonly<Record<string, Tool<any, any>>>
  readonly output?: z.ZodType<TOutput>
  // biome-ignore lint/suspicious/noExplicitAny: rules are checked against the step's context where the step is built
  readonly stop: ReadonlyArray<StopRule<AgentStopContext<any, any>>>
  readonly toolConcurrency: number
  readonly maxToolErrors: number
  readonly history?: { readonly maxTokens: number }
  readonly fallback?: ReadonlyArray<string | Model>
  readonly temperature?: number
  readonly maxOutputTokens?: number
  /** Prompt caching: `false` sends no cache marks; `{ key, breakpoints }` overrides the defaults (see `PromptCacheHint`). */
  readonly cache?: boolean | PromptCacheHint
  /** The deadline of approvals whose tool sets none. */
  readonly approval?: { readonly timeout?: DurationInput }
}

/**
 * Options of {@link agent}.
 *
 * @example
 * const options: AgentOptions<string, { question: string }, {}> = {
 *   model: "smart", prompt: ({ input }) => input.question, tools: {}, stop: [maxSteps(4)],
 * }
 */
export interface AgentOptions<TOutput, TInput, TSteps> {
  readonly model: string | Model
  /** The task: the first user message(s) of the conversation. */
  readonly prompt: (context: StepContext<TInput, TSteps>) => string | readonly Message[]
  readonly system?: string | ((context: StepContext<TInput, TSteps>) => string)
  /** Tools the model may call, by the name it sees (`{ lookupOrder }`). */
  // biome-ignore lint/suspicious/noExplicitAny: each tool's argument and result types are its own
  readonly tools: Readonly<Record<string, Tool<any, any>>>
  /**
   * The final answer's schema (JSON); without it the answer is the model's text. Checked here, not
   * sent to the provider as structured output (tools and structured output do not mix everywhere):
   * ask for the JSON in the system prompt.
   */
  readonly output?: z.ZodType<TOutput>
  /** At least one rule that bounds the loop: `maxSteps(n)`, `budget(...)`, `maxToolCalls(n)`, `hasToolCall(name)`, `when(...)`. */
  readonly stop: readonly [StopRule<AgentStopContext<TInput, TSteps>>, ...ReadonlyArray<StopRule<AgentStopContext<TInput, TSteps>>>]
  /** Most tool calls of one turn running at once (default 4). */
  readonly toolConcurrency?: number
  /** Consecutive failed tool calls after which the step fails with a `ToolError` (default 3). */
  readonly maxToolErrors?: number
  /** Trim what is sent each turn to about this many tokens (the journal keeps everything). */
  readonly history?: { readonly maxTokens: number }
  readonly fallback?: ReadonlyArray<string | Model>
  readonly temperature?: number
  readonly maxOutputTokens?: number
  /** Prompt caching: `false` sends no cache marks; `{ key, breakpoints }` overrides the defaults (see `PromptCacheHint`). */
  readonly cache?: boolean | PromptCacheHint
  readonly description?: string
  /** Retries, timeouts per model turn (the attempt timeout applies to each turn). */
  readonly policy?: StepPolicy
  /**
   * Tool approvals of this agent: `timeout` is how long a call waits for a person when its tool
   * sets no `approval.timeout` of its own. When it passes, the call is refused (the tool never runs)
   * and the model is told no decision came in time.
   */
  readonly approval?: { readonly timeout?: DurationInput }
}

/**
 * An agent step: the model decides which tools to call, in a loop bounded by stop rules. Tool
 * errors, timeouts, invalid arguments and unknown tool names go back to the model as error
 * results; `maxToolErrors` in a row fail the step.
 *
 * @example
 * const refund = agent({
 *   model: "smart",
 *   system: "You handle refunds. Look the order up before refunding.",
 *   prompt: ({ input }) => input.ticket,
 *   tools: { lookupOrder, issueRefund },
 *   output: z.object({ refunded: z.boolean(), note: z.string() }),
 *   stop: [maxSteps(6), budget({ usd: 0.05 })],
 * })
 */
export const agent = <TOutput = string, TInput = never, TSteps = never>(
  options: AgentOptions<TOutput, TInput, TSteps>,
): AgentStep<NoInfer<TOutput>, StepContext<TInput, TSteps>> => {
  // Checked with the step, by `.step()` (definition/check-steps.ts): stop rules, tools, counts, history, approval.
  const given = optionsOf(options)
  const tools = given["tools"]
  return builtFrom(
    {
      ...given,
      kind: "agent",
      // Without a prototype, a tool name the model makes up ("toString") is unknown, not Object's.
      tools: typeof tools === "object" && tools !== null && !Array.isArray(tools) ? Object.assign(Object.create(null), tools) : tools,
      toolConcurrency: given["toolConcurrency"] ?? 4,
      maxToolErrors: given["maxToolErrors"] ?? 3,
    } as AgentStep<TOutput, StepContext<TInput, TSteps>>,
    "agent(options)",
    options,
    true,
  )
}

/**
 * The tools of an agent step whose calls may ask a person, by the key the model calls them by.
 *
 * @example
 * approvalToolsOf(refundAgent) // ["issueRefund"]
 */
export const approvalToolsOf = (step: AgentStep<unknown, unknown>): string[] =>
  Object.entries(step.tools)
    .filter(([, definition]) => asksApproval(definition.approval))
    .map(([key]) => key)

/**
 * The approval tools of an agent step whose calls wait for a person only until a deadline (their
 * own `approval.timeout`, or the agent's `approval.timeout`).
 *
 * @example
 * timedApprovalToolsOf(refundAgent) // ["issueRefund"] once it has approval: { timeout: "4h" }
 */
export const timedApprovalToolsOf = (step: AgentStep<unknown, unknown>): string[] =>
  approvalToolsOf(step).filter((key) => approvalTimeoutMs(step.tools[key]?.approval, step.approval?.timeout) !== undefined)
