import type { z } from "zod"
import type { DurationInput } from "../../contract/duration.ts"
import { builtFrom, optionsOf } from "../check-arguments.ts"
import type { StepPolicy } from "../policy.ts"
import type { ToolApproval } from "./approval.ts"
import type { StepContext, ToolStep } from "./step.ts"

/**
 * What a tool receives besides its arguments. `idempotencyKey` is `runId:step:visit` for a `tool`
 * step and `runId:step:visit:turn:callId` for a call an agent's model asked for (turn and call id
 * come from the journaled model turn): the same on a re-run after a crash, so a tool can deduplicate
 * its side effect.
 *
 * @example
 * const run = async (args: { id: string }, { idempotencyKey }: ToolCallContext) => charge(args.id, idempotencyKey)
 */
export interface ToolCallContext {
  readonly signal: AbortSignal
  readonly idempotencyKey: string
  readonly runId: string
  readonly step: string
}

/**
 * A typed tool: zod-validated arguments (and output, when given), and the function that runs it.
 *
 * @example
 * const lookupOrder = tool({
 *   name: "lookupOrder",
 *   input: z.object({ orderId: z.string() }),
 *   run: async ({ orderId }) => ({ orderId, status: "shipped" }),
 * })
 */
export interface Tool<TArgs, TResult> {
  readonly name: string
  readonly description?: string
  readonly input: z.ZodType<TArgs>
  readonly output?: z.ZodType<TResult>
  readonly timeout?: DurationInput
  /** Safe to run twice with the same arguments: failures may be retried. */
  readonly idempotent?: boolean
  /**
   * Agents only: a person approves each call first (`true`), or the calls whose arguments the
   * predicate picks, or `{ when, timeout }` (see {@link ApprovalOptions}): the run waits in
   * `awaiting-human` for an {@link ApprovalDecision}; after `timeout` the call is refused.
   */
  readonly approval?: ToolApproval<TArgs>
  readonly run: (args: TArgs, context: ToolCallContext) => TResult | PromiseLike<TResult>
}

/**
 * Defines a typed tool that steps and agents can call. It is checked (name, schemas, `run`,
 * `approval`) with the step that uses it, when that step is added to a pipeline.
 *
 * @example
 * const add = tool({ name: "add", input: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }) => a + b })
 */
export const tool = <TArgs, TResult>(definition: Tool<TArgs, TResult>): Tool<TArgs, TResult> => definition

/**
 * A step that calls a tool with arguments computed from the run so far.
 *
 * @example
 * const lookup = callTool(lookupOrder, ({ input }) => ({ orderId: input.orderId }))
 */
export const callTool = <TArgs, TResult, TInput = never, TSteps = never>(
  toolDefinition: Tool<TArgs, TResult>,
  args: (context: StepContext<TInput, TSteps>) => NoInfer<TArgs>,
  options: { readonly description?: string; readonly policy?: StepPolicy } = {},
): ToolStep<TResult, StepContext<TInput, TSteps>> =>
  builtFrom(
    { ...optionsOf(options), kind: "tool", tool: toolDefinition, args } as ToolStep<TResult, StepContext<TInput, TSteps>>,
    "callTool(tool, args, options)",
    options,
    false,
  )
