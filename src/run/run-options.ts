// The options of run() and start() as plain JavaScript passes them. A wrong one fails the run at
// once with a ConfigurationError naming it, instead of a TypeError deep inside (or, for a
// misspelt `journal`, a run that silently keeps nothing).
import {
  aDuration,
  aFunction,
  aPositiveNumber,
  aString,
  type Check,
  describeValue,
  expectValue,
  type FieldChecks,
  fieldsOf,
  isRecord,
  listOf,
  optional,
  recordOf,
} from "../definition/check-arguments.ts"
import type { RunOptions } from "./create-runner.ts"
import { modelLimitProblems } from "./model-limits.ts"

const anObject = (what: string, ...methods: string[]): Check =>
  expectValue(what, (value) => isRecord(value) && methods.every((method) => typeof value[method] === "function"))

// One entry per field of RunOptions (a type error otherwise): a key not listed is refused as a typo.
const runOptionFields = {
  models: optional(recordOf(anObject("a Model (an object with generate())", "generate"), "an object of models by alias ({ fast: model })")),
  journal: optional(anObject("a Journal (memoryJournal(), sqliteJournal(...), postgresJournal(...))", "append", "read")),
  runId: optional(expectValue("a non-empty string", (value) => typeof value === "string" && value !== "")),
  signal: optional(expectValue("an AbortSignal", (value) => isRecord(value) && typeof value["addEventListener"] === "function" && "aborted" in value)),
  drain: optional(expectValue("an AbortSignal", (value) => isRecord(value) && typeof value["addEventListener"] === "function" && "aborted" in value)),
  onEvent: optional(aFunction),
  observers: optional(listOf(aFunction, "a list of functions of an event")),
  redact: optional(anObject("a redaction ({ keys, allow, values })")),
  prices: optional(anObject("a price table ({ 'provider:model': { input, output } })")),
  inspect: optional(aFunction),
  threadId: optional(aString),
  threads: optional(anObject("a ThreadStore (memoryThreadStore(), sqliteThreadStore(path))", "load", "append")),
  budget: optional(
    fieldsOf({ tokens: optional(aPositiveNumber), usd: optional(aPositiveNumber), ms: optional(aPositiveNumber) }, "a budget ({ tokens, usd, ms })"),
  ),
  executor: optional(anObject("a StepExecutor ({ runStep })", "runStep")),
  journalTimeout: optional(aDuration),
  modelCache: optional(anObject("a ModelCache (memoryModelCache(), sqliteModelCache(path))", "get", "set")),
  limits: optional((value, where) => modelLimitProblems(value).map((problem) => `${where}: ${problem.message}`)),
} satisfies FieldChecks<RunOptions>

/**
 * What is wrong with the options of `run(input, options)` or `start(input, options)`: each message
 * names the option; empty when they are right.
 *
 * @example
 * runOptionProblems({ jounral: memoryJournal() }) // ['run(input, { ... }) does not take "jounral" (it takes models, journal, …)']
 */
export const runOptionProblems = (options: unknown): readonly string[] =>
  isRecord(options)
    ? fieldsOf(runOptionFields)(options, "run(input, { ... })")
    : [`run(input, options): options must be an object, got ${describeValue(options)}`]
