import type { UsageTotals } from "../contract/events.ts"
import type { Message } from "../contract/model.ts"
import { aStopRule, describeValue, isRecord } from "./check-arguments.ts"
import type { StopRule } from "./stop-rules.ts"

/**
 * What an agent's stop rules see, between a model turn and its tool calls and again between the
 * tool calls and the next turn: the run so far and the agent's own tally.
 *
 * @example
 * const spentTooMuch = ({ usage }: AgentStopContext) => usage.costUsd > 0.05
 */
export interface AgentStopContext<TInput = unknown, TSteps = Record<string, unknown>> {
  readonly input: TInput
  readonly steps: Partial<TSteps> & { readonly [step: string]: unknown }
  /** Model turns taken in this visit of the agent step. */
  readonly turns: number
  /** Tool calls run so far (including those that returned an error). */
  readonly toolCalls: number
  /** Names of the calls the latest turn asked for and that have not run yet (empty after they ran). */
  readonly pendingToolCalls: readonly string[]
  /** Names of the calls of the latest batch that ran. */
  readonly lastToolCalls: readonly string[]
  /** Tokens and dollars of this agent's model calls. */
  readonly usage: UsageTotals
  /** Wall-clock milliseconds since the agent step started. */
  readonly elapsedMs: number
  readonly messages: readonly Message[]
}

/**
 * A limit on tokens (input + output), dollars and wall-clock milliseconds; any one reached stops.
 *
 * @example
 * const limit: Budget = { tokens: 20_000, usd: 0.05, ms: 60_000 }
 */
export interface Budget {
  readonly tokens?: number
  readonly usd?: number
  readonly ms?: number
}

const positiveInteger = (rule: string, n: number) => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${rule}(n): n must be an integer >= 1, got ${n}`)
}

/**
 * Lets an agent take at most `n` model turns: after the `n`-th turn it may answer, but does not
 * get to run more tools or think again.
 *
 * @example
 * agent({ model: "smart", prompt, tools: { lookupOrder }, stop: [maxSteps(6)] })
 */
// biome-ignore lint/suspicious/noExplicitAny: a rule fires for an agent of any input and step outputs
export const maxSteps = (n: number): StopRule<AgentStopContext<any, any>> => {
  positiveInteger("maxSteps", n)
  // Turns change only with a turn: checked after one, the rule has fired before any tool batch could.
  return { name: `maxSteps(${n})`, fires: ({ turns }) => turns >= n, points: ["turn"] }
}

/**
 * Lets an agent run at most `n` tool calls in total: a batch that would go past `n` is not run.
 *
 * @example
 * agent({ model: "smart", prompt, tools: { search }, stop: [maxSteps(10), maxToolCalls(20)] })
 */
// biome-ignore lint/suspicious/noExplicitAny: a rule fires for an agent of any input and step outputs
export const maxToolCalls = (n: number): StopRule<AgentStopContext<any, any>> => {
  positiveInteger("maxToolCalls", n)
  return { name: `maxToolCalls(${n})`, fires: ({ toolCalls, pendingToolCalls }) => toolCalls + pendingToolCalls.length > n }
}

/** `tokens: 1000, usd: 0.05`, the budget as it appears in a rule's name. */
export const describeBudget = (limit: Budget): string =>
  Object.entries(limit)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}: ${value}`)
    .join(", ")

/** Whether spent usage and time reach any limit of a budget. */
export const budgetReached = (limit: Budget, usage: UsageTotals, elapsedMs: number): boolean =>
  (limit.tokens !== undefined && usage.inputTokens + usage.outputTokens >= limit.tokens) ||
  (limit.usd !== undefined && usage.costUsd >= limit.usd) ||
  (limit.ms !== undefined && elapsedMs >= limit.ms)

/**
 * Stops an agent once its model calls reach a token or dollar budget, or its time runs out.
 * Checked after every turn and every tool batch, so a turn in flight finishes first.
 *
 * @example
 * agent({ model: "smart", prompt, tools: { search }, stop: [maxSteps(8), budget({ usd: 0.05, ms: 60_000 })] })
 */
// biome-ignore lint/suspicious/noExplicitAny: a rule fires for an agent of any input and step outputs
export const budget = (limit: Budget): StopRule<AgentStopContext<any, any>> => {
  if (!isRecord(limit)) throw new TypeError(`budget({ tokens?, usd?, ms? }): expected an object of limits, got ${describeValue(limit)}`)
  const description = describeBudget(limit)
  if (description === "") throw new RangeError("budget({ tokens?, usd?, ms? }): give at least one limit")
  for (const [key, value] of Object.entries(limit)) {
    if (value !== undefined && (typeof value !== "number" || !(value > 0)))
      throw new RangeError(`budget({ ${key} }): expected a number > 0, got ${String(value)}`)
  }
  return { name: `budget(${description})`, fires: ({ usage, elapsedMs }) => budgetReached(limit, usage, elapsedMs) }
}

/**
 * Stops an agent once it has called the named tool (after that call has run), e.g. a `finish` or
 * `handOff` tool.
 *
 * @example
 * agent({ model: "smart", prompt, tools: { search, handOff }, stop: [maxSteps(8), hasToolCall("handOff")] })
 */
// biome-ignore lint/suspicious/noExplicitAny: a rule fires for an agent of any input and step outputs
export const hasToolCall = (name: string): StopRule<AgentStopContext<any, any>> => ({
  name: `hasToolCall(${name})`,
  fires: ({ lastToolCalls }) => lastToolCalls.includes(name),
})

/**
 * Fires when every rule fires.
 *
 * @example
 * const slowAndLong = and(maxSteps(4), budget({ ms: 30_000 }))
 */
export const and = <TContext>(...rules: ReadonlyArray<StopRule<TContext>>): StopRule<TContext> => ({
  name: `and(${namesOf("and", rules)})`,
  fires: (context) => rules.length > 0 && rules.every((rule) => rule.fires(context)),
})

/**
 * Fires when any rule fires.
 *
 * @example
 * const enough = or(maxSteps(6), hasToolCall("finish"))
 */
export const or = <TContext>(...rules: ReadonlyArray<StopRule<TContext>>): StopRule<TContext> => ({
  name: `or(${namesOf("or", rules)})`,
  fires: (context) => rules.some((rule) => rule.fires(context)),
})

/**
 * Fires when the rule does not.
 *
 * @example
 * const stillWorking = and(maxSteps(3), not(hasToolCall("finish")))
 */
export const not = <TContext>(rule: StopRule<TContext>): StopRule<TContext> => ({
  name: `not(${namesOf("not", [rule])})`,
  fires: (context) => !rule.fires(context),
})

// The combinators read their rules' names now: a value that is no rule is named here, not a TypeError.
const namesOf = (combinator: string, rules: readonly unknown[]): string =>
  rules
    .map((rule, index) => {
      const problems = aStopRule(rule, `${combinator}(...) rule ${index + 1}`)
      if (problems.length > 0) throw new TypeError(problems.join("; "))
      return (rule as StopRule).name
    })
    .join(", ")
