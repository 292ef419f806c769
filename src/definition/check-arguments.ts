// The checks every builder applies to its arguments as plain JavaScript passes them: TypeScript
// keeps typed callers right, these keep untyped ones (a .js file, a cast, JSON) from building a
// pipeline that fails later with a TypeError. Each check returns messages that name the field,
// so a builder can collect them all and throw one PipelineDefinitionError.
import { toMillis } from "../contract/duration.ts"

/**
 * Checks one value at `where` (e.g. `step "review": human({ ... }).decision`): the messages of
 * what is wrong, empty when it is right.
 *
 * @example
 * const problems = aFunction(options.prompt, 'llm({ ... }).prompt') // ['llm({ ... }).prompt must be a function, got undefined']
 */
export type Check = (value: unknown, where: string) => readonly string[]

/**
 * Whether a value is an object with fields (not null, not an array).
 *
 * @example
 * isRecord({ next: "done" }) // true; isRecord([]) // false
 */
export const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * How a wrong value reads in a message: `undefined`, `null`, `"text"`, `NaN`, `an array`, `a function`, `a Map`.
 *
 * @example
 * describeValue(Number.NaN) // "NaN"
 */
export const describeValue = (value: unknown): string => {
  if (value === undefined || value === null || typeof value === "number" || typeof value === "boolean") return String(value)
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === "bigint") return `${value}n`
  if (typeof value === "function") return "a function"
  if (typeof value === "symbol") return "a symbol"
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array"
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
  return typeof name === "string" && name !== "Object" && name !== "" ? `a ${name}` : "an object"
}

/**
 * A check from a test and what the value must be, for the message.
 *
 * @example
 * const aPort = expectValue("a port number", (value) => Number.isInteger(value) && (value as number) > 0)
 */
export const expectValue =
  (what: string, test: (value: unknown) => boolean): Check =>
  (value, where) =>
    test(value) ? [] : [`${where} must be ${what}, got ${describeValue(value)}`]

/**
 * One check per field of `TOptions` (but `kind` and the phantom `~output`): written with
 * `satisfies`, a field added to the options without a check, or a check left for a field that is
 * gone, is a type error, so the checks cannot drift from the types.
 *
 * @example
 * const humanFields = { decision: aZodSchema, timeout: optional(aDuration), prompt: optional(aFunction), description: optional(aString) } satisfies FieldChecks<HumanOptions>
 */
export type FieldChecks<TOptions> = { readonly [TKey in Exclude<keyof TOptions, "kind" | "~output">]-?: Check }

/**
 * Skips the check when the value is `undefined`: for optional fields.
 *
 * @example
 * const timeout = optional(aDuration)
 */
export const optional =
  (check: Check): Check =>
  (value, where) =>
    value === undefined ? [] : check(value, where)

/**
 * The checks of one JavaScript type each: a function, a string, a boolean, a finite number, a
 * number > 0, a string or a function (a `system` prompt).
 *
 * @example
 * aFunction("Classify", 'llm({ ... }).prompt') // ['llm({ ... }).prompt must be a function, got "Classify"']
 */
export const aFunction = expectValue("a function", (value) => typeof value === "function")
/** @see aFunction @example aString(5, "x") // ['x must be a string, got 5'] */
export const aString = expectValue("a string", (value) => typeof value === "string")
/** @see aFunction @example aBoolean("yes", "stream") // ['stream must be true or false, got "yes"'] */
export const aBoolean = expectValue("true or false", (value) => typeof value === "boolean")
/** @see aFunction @example aFiniteNumber(Number.NaN, "temperature") // ['temperature must be a finite number, got NaN'] */
export const aFiniteNumber = expectValue("a finite number", (value) => typeof value === "number" && Number.isFinite(value))
/** @see aFunction @example aPositiveNumber(0, "maxTokens") // ['maxTokens must be a number > 0, got 0'] */
export const aPositiveNumber = expectValue("a number > 0", (value) => typeof value === "number" && Number.isFinite(value) && value > 0)
/** @see aFunction @example aStringOrFunction(1, "system") // ['system must be a string or a function, got 1'] */
export const aStringOrFunction = expectValue("a string or a function", (value) => typeof value === "string" || typeof value === "function")

/**
 * Whether a value can be used as a zod schema (the run calls its `safeParse`).
 *
 * @example
 * isZodSchema(z.boolean) // false: the factory, not called
 */
export const isZodSchema = (value: unknown): boolean => isRecord(value) && typeof value["safeParse"] === "function"
/** @see isZodSchema @example aZodSchema(undefined, "human({ ... }).decision") // ['… must be a zod schema, got undefined'] */
export const aZodSchema = expectValue("a zod schema", isZodSchema)

/**
 * An integer of at least `min`.
 *
 * @example
 * anInteger(1)(0, "k") // ['k must be an integer >= 1, got 0']
 */
export const anInteger = (min: number): Check =>
  expectValue(`an integer >= ${min}`, (value) => typeof value === "number" && Number.isInteger(value) && value >= min)

/**
 * A number of milliseconds (>= 0) or a duration string such as `"30s"`.
 *
 * @example
 * aDuration(-1, "timeout") // ['timeout must be a duration (milliseconds >= 0, …), got -1']
 */
export const aDuration = expectValue('a duration (milliseconds >= 0, or a string such as "250ms", "30s", "5m", "24h")', (value) => {
  if (typeof value !== "number" && typeof value !== "string") return false
  try {
    toMillis(value as never)
    return true
  } catch {
    return false
  }
})

/**
 * An object of known fields, each with its check; a key it does not know is refused too, so a
 * misspelt option (`timout`) is not silently ignored. `what` says what the value must be.
 *
 * @example
 * const aHistory = fieldsOf({ maxTokens: aPositiveNumber }, "{ maxTokens }")
 */
export const fieldsOf =
  (fields: Readonly<Record<string, Check>>, what = "an object", builtIn: readonly string[] = []): Check =>
  (value, where) => {
    if (!isRecord(value)) return [`${where} must be ${what}, got ${describeValue(value)}`]
    const known = Object.keys(fields)
    const unknown = Object.keys(value).filter((key) => !Object.hasOwn(fields, key) && !builtIn.includes(key))
    return [
      ...unknown.map((key) => `${where} does not take "${key}" (it takes ${known.join(", ")})`),
      ...known.flatMap((key) => (fields[key] as Check)(value[key], `${where}.${key}`)),
    ]
  }

/**
 * An array whose every item passes `check` (named `where[index]`); `nonEmpty` refuses `[]`.
 *
 * @example
 * const fallbacks = listOf(aModel, "a list of models")
 */
export const listOf =
  (check: Check, what: string, nonEmpty = false): Check =>
  (value, where) => {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0)) return [`${where} must be ${what}, got ${describeValue(value)}`]
    return value.flatMap((item, index) => check(item, `${where}[${index}]`))
  }

/**
 * An object used as a map (tools by key, branches by name): every value passes `check`.
 *
 * @example
 * const tools = recordOf(aTool, "an object of tools ({ lookupOrder })")
 */
export const recordOf =
  (check: Check, what: string, nonEmpty = false): Check =>
  (value, where) => {
    if (!isRecord(value) || (nonEmpty && Object.keys(value).length === 0)) return [`${where} must be ${what}, got ${describeValue(value)}`]
    return Object.entries(value).flatMap(([key, item]) => check(item, `${where}.${key}`))
  }

/**
 * A model alias (a non-empty string) or a `Model` handle (an object with `generate`).
 *
 * @example
 * aModel("", "llm({ ... }).model") // ['… must be a model alias (a string) or a Model (an object with generate()), got ""']
 */
export const aModel = expectValue(
  "a model alias (a string) or a Model (an object with generate())",
  (value) => (typeof value === "string" && value.trim() !== "") || (isRecord(value) && typeof value["generate"] === "function"),
)

/**
 * A stop rule: `{ name, fires }`, as `maxVisits(n)`, `when(...)`, `maxSteps(n)` and the others build it.
 *
 * @example
 * aStopRule(3, "edges.draft.stop") // ['edges.draft.stop must be a stop rule (maxVisits(n), …), got 3']
 */
export const aStopRule = expectValue(
  "a stop rule (maxVisits(n), maxSteps(n), budget({ ... }), when(name, predicate), …)",
  (value) => isRecord(value) && typeof value["name"] === "string" && typeof value["fires"] === "function",
)

// Options a builder was given that are not an object (`human(null)`): the builder cannot spread
// them, so it keeps the problem here for `.step()` to report under the step's name.
const misshapenOptions = new WeakMap<object, readonly string[]>()

/**
 * Returns the step a builder made, noting `options` (named `label`, e.g. `human(options)`) when
 * they are not an object. `required` options must be given; optional ones may be `undefined`.
 *
 * @example
 * export const human = (options) => builtFrom({ kind: "human", ...optionsOf(options) }, "human(options)", options, true)
 */
export const builtFrom = <TStep extends object>(step: TStep, label: string, options: unknown, required: boolean): TStep => {
  if (!isRecord(options) && (required || options !== undefined)) {
    misshapenOptions.set(step, [`${label} must be an object, got ${describeValue(options)}`])
  }
  return step
}

/**
 * The fields of builder options that may be anything plain JavaScript passes: `{}` unless an object.
 *
 * @example
 * optionsOf(null) // {}
 */
export const optionsOf = (options: unknown): Readonly<Record<string, unknown>> => (isRecord(options) ? options : {})

/**
 * What {@link builtFrom} noted about a step's options: empty for a step built right.
 *
 * @example
 * misshapenOptionsOf(human(null as never)) // ["human(options) must be an object, got null"]
 */
export const misshapenOptionsOf = (step: object): readonly string[] => misshapenOptions.get(step) ?? []
