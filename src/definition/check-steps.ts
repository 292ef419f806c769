// What each step kind's builder accepts, as checks over the step it returns. `.step(name, step)`
// runs them, so every message starts with the step's name, and a step written by hand (plain
// JavaScript, no builder) is held to the same rules as a built one.
import {
  aBoolean,
  aDuration,
  aFiniteNumber,
  aFunction,
  aModel,
  anInteger,
  aPositiveNumber,
  aStopRule,
  aString,
  aStringOrFunction,
  aZodSchema,
  type Check,
  describeValue,
  expectValue,
  type FieldChecks,
  fieldsOf,
  isRecord,
  isZodSchema,
  listOf,
  misshapenOptionsOf,
  optional,
} from "./check-arguments.ts"
import type { RetryPolicy, StepPolicy } from "./policy.ts"
import type { AgentOptions } from "./steps/agent.ts"
import type { fn } from "./steps/fn.ts"
import type { human } from "./steps/human.ts"
import type { map } from "./steps/map.ts"
import type { parallel } from "./steps/parallel.ts"
import { isFactsStep, type rememberFacts } from "./steps/remember-facts.ts"
import type { retrieve } from "./steps/retrieve.ts"
import { type LlmStep, type StepKind, stepKindDefinitions, stepKinds } from "./steps/step.ts"
import type { subpipeline } from "./steps/subpipeline.ts"
import type { callTool, Tool } from "./steps/tool.ts"

type OptionsOf<TBuilder extends (...args: never[]) => unknown, TIndex extends number = 0> = NonNullable<Parameters<TBuilder>[TIndex]>

const aRetry: Check = (value, where) =>
  value === false
    ? []
    : fieldsOf(
        {
          attempts: optional(anInteger(1)),
          initialDelay: optional(aDuration),
          factor: optional(expectValue("a number >= 1", (factor) => typeof factor === "number" && factor >= 1 && Number.isFinite(factor))),
          maxDelay: optional(aDuration),
          jitter: optional(aBoolean),
        } satisfies FieldChecks<RetryPolicy>,
        "false or { attempts, initialDelay, factor, maxDelay, jitter }",
      )(value, where)

/**
 * A step policy: retries and timeouts, every duration readable and every key known.
 *
 * @example
 * aPolicy({ retry: { attempts: 0 } }, 'step "fetch": fn(run, { ... }).policy') // ['… .policy.retry.attempts must be an integer >= 1, got 0']
 */
export const aPolicy: Check = fieldsOf(
  {
    retry: optional(aRetry),
    attemptTimeout: optional(aDuration),
    timeout: optional(aDuration),
    firstTokenTimeout: optional(aDuration),
    idleTimeout: optional(aDuration),
  } satisfies FieldChecks<StepPolicy>,
  "a policy ({ retry, attemptTimeout, timeout, firstTokenTimeout, idleTimeout })",
)

const toolNamePattern = /^[A-Za-z][\w-]{0,63}$/
const aToolName = expectValue(
  'a tool name (a letter, then letters, digits, "_" or "-"; at most 64)',
  (value) => typeof value === "string" && toolNamePattern.test(value),
)

// `approval` is true/false, a predicate of the arguments, or { when, timeout } (steps/approval.ts).
const anApproval: Check = (value, where) =>
  typeof value === "boolean" || typeof value === "function"
    ? []
    : fieldsOf({ when: optional(aFunction), timeout: optional(aDuration) }, "true, false, a predicate or { when, timeout }")(value, where)

/**
 * A tool as `tool({ ... })` builds it (or the same object written by hand).
 *
 * @example
 * aTool({ name: "add", run: (x: number) => x }, 'step "sum": callTool(tool)') // ['… .input must be a zod schema, got undefined']
 */
export const aTool: Check = fieldsOf(
  {
    name: aToolName,
    description: optional(aString),
    input: aZodSchema,
    output: optional(aZodSchema),
    timeout: optional(aDuration),
    idempotent: optional(aBoolean),
    approval: optional(anApproval),
    run: aFunction,
  } satisfies FieldChecks<Tool<unknown, unknown>>,
  "a tool built with tool({ name, input, run })",
)

// Tools are offered to the model under their keys, which providers restrict like tool names.
const aToolRecord: Check = (value, where) => {
  if (!isRecord(value)) return [`${where} must be an object of tools ({ lookupOrder }; {} for none), got ${describeValue(value)}`]
  return Object.entries(value).flatMap(([key, definition]) => [
    ...(toolNamePattern.test(key)
      ? []
      : [`${where} has the key "${key}": a tool key must start with a letter and use letters, digits, "_" or "-" (at most 64)`]),
    ...aTool(definition, `${where}.${key}`),
  ])
}

const aRetriever = expectValue(
  "a Retriever (an object with retrieve(query, { k, signal }))",
  (value) => isRecord(value) && typeof value["retrieve"] === "function",
)
const aThreadOption: Check = (value, where) =>
  typeof value === "boolean" ? [] : fieldsOf({ lastMessages: anInteger(0) }, "true, false or { lastMessages }")(value, where)
const anItemPolicy: Check = (value, where) =>
  value === "fail-fast" || value === "collect" ? [] : fieldsOf({ atLeast: anInteger(0) }, '"fail-fast", "collect" or atLeast(k)')(value, where)
const aBuiltPipeline = expectValue(
  "a built pipeline (pipeline(...).step(...).edges(...))",
  (value) =>
    isRecord(value) && typeof value["id"] === "string" && isRecord(value["machine"]) && value["definitions"] instanceof Map && isZodSchema(value["input"]),
)
const branchNamePattern = /^[A-Za-z][A-Za-z0-9_-]*$/

const breakpointNames = ["system", "tools", "conversation"]
const aPromptCache: Check = (value, where) =>
  typeof value === "boolean"
    ? []
    : fieldsOf(
        {
          key: optional(aString),
          breakpoints: optional(
            listOf(
              expectValue('"system", "tools" or "conversation"', (name) => breakpointNames.includes(name as string)),
              'a list of "system", "tools", "conversation"',
            ),
          ),
        },
        "true, false or { key, breakpoints }",
      )(value, where)
const common = { description: optional(aString), policy: optional(aPolicy) }
const modelFields = {
  model: aModel,
  prompt: aFunction,
  system: optional(aStringOrFunction),
  output: optional(aZodSchema),
  fallback: optional(listOf(aModel, "a list of models (aliases or Model handles)")),
  temperature: optional(aFiniteNumber),
  maxOutputTokens: optional(anInteger(1)),
  cache: optional(aPromptCache),
}
const fnFields = common satisfies FieldChecks<OptionsOf<typeof fn, 1>>
const factsFields = { description: optional(aString) } satisfies FieldChecks<OptionsOf<typeof rememberFacts, 1>>
const llmFields = {
  ...modelFields,
  stream: optional(aBoolean),
  repair: optional(anInteger(0)),
  thread: optional(aThreadOption),
  ...common,
} satisfies FieldChecks<LlmStep<unknown, unknown>>
const callToolFields = common satisfies FieldChecks<OptionsOf<typeof callTool, 2>>
const humanFields = {
  decision: aZodSchema,
  timeout: optional(aDuration),
  prompt: optional(aFunction),
  description: optional(aString),
} satisfies FieldChecks<OptionsOf<typeof human>>
const retrieveFields = {
  retriever: aRetriever,
  query: aFunction,
  k: anInteger(1),
  minScore: optional(aFiniteNumber),
  relevance: optional(fieldsOf({ model: aModel, prompt: optional(aFunction) }, "{ model, prompt? }")),
  ...common,
} satisfies FieldChecks<OptionsOf<typeof retrieve>>
const agentFields = {
  ...modelFields,
  tools: aToolRecord,
  stop: listOf(aStopRule, "a list of at least one stop rule (maxSteps(n), budget({ ... }), …): an agent loop must be bounded", true),
  toolConcurrency: anInteger(1),
  maxToolErrors: anInteger(1),
  history: optional(fieldsOf({ maxTokens: aPositiveNumber }, "{ maxTokens }")),
  approval: optional(fieldsOf({ timeout: optional(aDuration) }, "{ timeout }")),
  ...common,
} satisfies FieldChecks<AgentOptions<unknown, unknown, unknown>>
// Branches and items are checked as steps of their own (unitProblems), the other options here.
const aBranchPolicy: Check = (value, where) =>
  value === "fail-fast" || value === "collect" ? [] : [`${where} must be "fail-fast" or "collect", got ${describeValue(value)}`]
const parallelFields = { join: optional(aFunction), onBranchError: optional(aBranchPolicy), ...common } satisfies FieldChecks<
  Omit<OptionsOf<typeof parallel>, "branches">
>
const mapFields = {
  over: aFunction,
  concurrency: optional(anInteger(1)),
  maxItems: optional(anInteger(0)),
  onItemError: anItemPolicy,
  ...common,
} satisfies FieldChecks<Omit<OptionsOf<typeof map>, "each">>
const subpipelineFields = { input: aFunction, ...common } satisfies FieldChecks<OptionsOf<typeof subpipeline, 1>>
// Keys a builder sets itself besides the options it spreads.
const own = (...keys: string[]) => ["kind", ...keys]

type Fields = Readonly<Record<string, unknown>>
const kindChecks: { readonly [TKind in StepKind]: (step: Fields, where: string) => readonly string[] } = {
  fn: (step, where) =>
    isFactsStep(step)
      ? [
          ...aFunction(step["run"], `${where}: rememberFacts(select)`),
          ...fieldsOf(factsFields, "", own("run", "remember"))(step, `${where}: rememberFacts(select, { ... })`),
        ]
      : [...aFunction(step["run"], `${where}: fn(run)`), ...fieldsOf(fnFields, "", own("run"))(step, `${where}: fn(run, { ... })`)],
  llm: (step, where) => fieldsOf(llmFields, "", own())(step, `${where}: llm({ ... })`),
  tool: (step, where) => [
    ...aTool(step["tool"], `${where}: callTool(tool)`),
    ...aFunction(step["args"], `${where}: callTool(tool, args)`),
    ...fieldsOf(callToolFields, "", own("tool", "args"))(step, `${where}: callTool(tool, args, { ... })`),
  ],
  human: (step, where) => fieldsOf(humanFields, "", own())(step, `${where}: human({ ... })`),
  retrieve: (step, where) => fieldsOf(retrieveFields, "", own())(step, `${where}: retrieve({ ... })`),
  agent: (step, where) => fieldsOf(agentFields, "", own())(step, `${where}: agent({ ... })`),
  parallel: (step, where) => {
    const branches = step["branches"]
    const at = `${where}: parallel({ ... }).branches`
    if (!isRecord(branches) || Object.keys(branches).length === 0) {
      return [`${at} must be an object of at least one branch ({ title: llm(...), words: fn(...) }), got ${describeValue(branches)}`]
    }
    return [
      ...Object.entries(branches).flatMap(([name, branch]) =>
        branchNamePattern.test(name)
          ? unitProblems(branch, `${at}.${name}`)
          : [`${at} has the branch "${name}": a branch name must start with a letter and use only letters, digits, "_" or "-"`],
      ),
      ...fieldsOf(parallelFields, "", own("branches"))(step, `${where}: parallel({ ... })`),
    ]
  },
  map: (step, where) => [...unitProblems(step["each"], `${where}: map({ ... }).each`), ...fieldsOf(mapFields, "", own("each"))(step, `${where}: map({ ... })`)],
  pipeline: (step, where) => {
    const child = step["pipeline"]
    // Its human steps wait under the step's path (`orders[1].approve`), as the parent's own would.
    return [
      ...aBuiltPipeline(child, `${where}: subpipeline(child)`),
      ...fieldsOf(subpipelineFields, "", own("pipeline"))(step, `${where}: subpipeline(child, { ... })`),
    ]
  },
}

const isStep = (value: unknown): value is Fields & { readonly kind: StepKind } => isRecord(value) && (stepKinds as readonly unknown[]).includes(value["kind"])

// "fn(), llm(), … or subpipeline()": from the one table of kinds.
const stepBuilderList = Object.values(stepKindDefinitions)
  .map(({ builder }) => `${builder}()`)
  .join(", ")
  .replace(/, ([^,]*)$/, " or $1")

/**
 * What is wrong with a step definition, each message starting with `where` (`step "review"`):
 * not a step at all, options that were not an object, or a field of the wrong type.
 *
 * @example
 * stepProblems('step "review"', human({} as never)) // ['step "review": human({ ... }).decision must be a zod schema, got undefined']
 */
export const stepProblems = (where: string, step: unknown): readonly string[] => {
  if (!isStep(step)) return [`${where} is not a step definition: build it with ${stepBuilderList}`]
  const misshapen = misshapenOptionsOf(step)
  if (misshapen.length > 0) return misshapen.map((problem) => `${where}: ${problem}`)
  return kindChecks[step.kind](step, where)
}

// A branch or an item cannot hold a sub-chart (it may wait for a person: its decision is its output).
const unitProblems = (step: unknown, where: string): readonly string[] => {
  if (isStep(step) && (step.kind === "parallel" || step.kind === "agent")) {
    return [`${where} is ${step.kind === "agent" ? "an agent" : "a parallel"} step: nest it in a pipeline and use subpipeline(child, { input }) instead`]
  }
  return stepProblems(where, step)
}
