// The evidence a RunError keeps of the JavaScript error behind it: name, stack, cause chain and
// own fields, as bounded JSON with secrets masked. Never throws, whatever was thrown.
import { redactSecrets } from "./redaction.ts"

/**
 * What a {@link RunError} keeps of the JavaScript error behind it, so that a failure can be traced
 * to its line: the thrown error's `name`, `stack`, `cause` chain and own fields. Plain JSON, cut to
 * size, with secrets masked (API keys, authorization values, and fields named like `apiKey`,
 * `authorization`, `password` or `token`); the run's `redact` keys are applied too wherever the
 * error is journaled or returned.
 *
 * @example
 * const firstFrame = (error: RunError) => error.stack?.split("\n")[1]?.trim()
 */
export interface ErrorEvidence {
  /** The thrown error's `name` (`"TypeError"`, `"UpstreamError"`, …); absent when it is the `_tag`. */
  readonly name?: string
  /** The thrown error's `stack` (its first 4,000 characters). */
  readonly stack?: string
  /** The thrown error's `cause`, whose own `cause` follows, and so on: at most 5 links. */
  readonly cause?: ErrorCause
  /**
   * The thrown error's own enumerable fields but `name`, `message`, `stack` and `cause` (`status`,
   * `code`, `headers`, …) as JSON. Kept apart, so a `status` or `reason` of the thrown error is
   * never read as the typed field of that name. Values that are not JSON become strings
   * (functions, symbols, bigints, class instances, nested errors as `"name: message"`); a circular
   * reference becomes `"[circular]"`; long strings, deep objects and long lists are cut.
   */
  readonly fields?: Readonly<Record<string, unknown>>
}

/**
 * One link of a {@link RunError}'s `cause` chain: what that error said, and its own evidence.
 *
 * @example
 * const causes = (error: RunError): string[] => {
 *   const messages: string[] = []
 *   for (let link = error.cause; link !== undefined; link = link.cause) messages.push(link.message)
 *   return messages
 * }
 */
export interface ErrorCause extends ErrorEvidence {
  readonly message: string
}

/**
 * The {@link ErrorEvidence} of any thrown value: its name (unless it is `tag`), stack, cause chain
 * and own fields. Never throws, whatever the value (a revoked proxy, a throwing getter, a cycle).
 */
export const evidenceOf = (thrown: unknown, tag: string): ErrorEvidence => {
  const { message: _message, name, ...evidence } = linkOf(thrown, 0, newBudget(), new Set())
  return name === undefined || name === tag ? evidence : { name, ...evidence }
}

// Bounds on what one error keeps, so a thrown response object or a cyclic graph cannot bloat
// every journal entry that carries the error.
const limits = {
  causeLinks: 5,
  stackCharacters: 4_000,
  messageCharacters: 2_000,
  stringCharacters: 1_000,
  depth: 4,
  entries: 30,
  fieldCharacters: 16_000,
} as const

type Budget = { left: number }
export const newBudget = (): Budget => ({ left: limits.fieldCharacters })

// Fields whose values are credentials by name, whatever they look like.
const secretName =
  /^(authorization|proxyauthorization|cookie|setcookie|xapikey|apikey|password|passwd|secret|clientsecret|token|accesstoken|refreshtoken|idtoken|sessiontoken|privatekey)$/
const isSecretName = (key: string): boolean => secretName.test(key.toLowerCase().replace(/[-_]/g, ""))
const redactedMarker = "[redacted]"

const evidenceKeys = new Set(["name", "message", "stack", "cause"])

export const linkOf = (value: unknown, depth: number, budget: Budget, seen: Set<object>): ErrorCause => {
  const message = cut(redactSecrets(messageOf(value)), limits.messageCharacters)
  if (typeof value !== "object" || value === null) return { message }
  seen.add(value)
  const name = read(value, "name")
  const stack = read(value, "stack")
  const cause = read(value, "cause")
  const fields = fieldsOf(value, budget, seen)
  const next =
    cause === undefined || depth >= limits.causeLinks || (typeof cause === "object" && cause !== null && seen.has(cause))
      ? undefined
      : linkOf(cause, depth + 1, budget, seen)
  return stripUndefined({
    name: typeof name === "string" ? cut(name, limits.stringCharacters) : undefined,
    message,
    stack: typeof stack === "string" ? cut(redactSecrets(stack), limits.stackCharacters) : undefined,
    cause: next,
    fields,
  }) as ErrorCause
}

// The step errors' tags: their fields are the RunError's own, not evidence.
const typedErrorTags = new Set(["ModelError", "ToolError", "StepTimeoutError", "StepCodeError", "ConfigurationError"])

// Own enumerable fields, without the ones that are the evidence itself; typed errors have none
// (their fields are the RunError's own).
const fieldsOf = (value: object, budget: Budget, seen: Set<object>): Record<string, unknown> | undefined => {
  const tag = read(value, "_tag")
  if (typeof tag === "string" && typedErrorTags.has(tag)) return undefined
  let keys: string[]
  try {
    keys = Object.keys(value).filter((key) => !evidenceKeys.has(key))
  } catch {
    return undefined
  }
  // An AggregateError's `errors` is not enumerable, and it is what says why.
  const errors = value instanceof AggregateError ? read(value, "errors") : undefined
  if (keys.length === 0 && errors === undefined) return undefined
  const fields = objectOf(pairsOf(value, keys), 0, budget, seen)
  return errors === undefined ? fields : { ...fields, errors: jsonOf(errors, 1, budget, seen) }
}

type Pair = readonly [string, unknown]
const pairsOf = (object: object, keys: readonly string[]): Pair[] => keys.map((key) => [key, read(object, key)])

const objectOf = (entries: readonly Pair[], depth: number, budget: Budget, seen: Set<object>): Record<string, unknown> => {
  const object: Record<string, unknown> = {}
  let kept = 0
  for (const [key, field] of entries) {
    if (field === undefined) continue
    if (kept === limits.entries || budget.left <= 0) {
      object["…"] = `${entries.length - kept} more fields`
      break
    }
    budget.left -= key.length
    object[key] = isSecretName(key) ? redactedMarker : jsonOf(field, depth + 1, budget, seen)
    kept += 1
  }
  return object
}

// A JSON copy of a field value, within the budget.
const jsonOf = (value: unknown, depth: number, budget: Budget, seen: Set<object>): unknown => {
  switch (typeof value) {
    case "string": {
      const text = cut(redactSecrets(value), limits.stringCharacters)
      budget.left -= text.length
      return text
    }
    case "number":
      budget.left -= 8
      return Number.isFinite(value) ? value : String(value)
    case "boolean":
      budget.left -= 5
      return value
    case "undefined":
      return null
    case "bigint":
      return `${value}n`
    case "symbol":
      return value.toString()
    case "function":
      return `[function ${value.name || "anonymous"}]`
  }
  if (value === null) return null
  const object = value as object
  if (seen.has(object)) return "[circular]"
  if (depth > limits.depth || budget.left <= 0) return "[cut]"
  seen.add(object)
  try {
    if (object instanceof Error) return cut(redactSecrets(`${object.name}: ${object.message}`), limits.stringCharacters)
    if (Array.isArray(object)) return listOf(object, depth, budget, seen)
    if (ArrayBuffer.isView(object)) return `[${object.constructor.name} of ${object.byteLength} bytes]`
    if (object instanceof Map)
      return objectOf(
        [...object].map(([key, field]): Pair => [String(key), field]),
        depth,
        budget,
        seen,
      )
    if (object instanceof Set) return listOf([...object], depth, budget, seen)
    if (typeof Headers !== "undefined" && object instanceof Headers) return objectOf([...object], depth, budget, seen)
    const toJSON = (object as { toJSON?: unknown }).toJSON
    if (typeof toJSON === "function") return jsonOf(toJSON.call(object), depth, budget, seen)
    const prototype = Object.getPrototypeOf(object)
    if (prototype === Object.prototype || prototype === null) return objectOf(pairsOf(object, Object.keys(object)), depth, budget, seen)
    // A class instance (a socket, a response, a client): its description, not its insides.
    return cut(redactSecrets(describe(object)), limits.stringCharacters)
  } catch {
    return "[unreadable]"
  } finally {
    seen.delete(object)
  }
}

const listOf = (list: readonly unknown[], depth: number, budget: Budget, seen: Set<object>): unknown[] => {
  const kept = list.slice(0, limits.entries).map((item) => jsonOf(item, depth + 1, budget, seen))
  return list.length > limits.entries ? [...kept, `… ${list.length - limits.entries} more items`] : kept
}

const describe = (object: object): string => {
  const text = String(object)
  return text === "[object Object]" ? `[${(object.constructor as { name?: string } | undefined)?.name ?? "object"}]` : text
}

// A property read that a getter or a proxy cannot make throw.
export const read = (object: object, key: string): unknown => {
  try {
    return (object as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
}

export const cut = (text: string, length: number): string =>
  text.length > length ? `${text.slice(0, length)}… (${text.length - length} more characters)` : text

/**
 * Best-effort human message of anything thrown; never throws.
 *
 * @example
 * messageOf(new Error("boom")) // "boom"; messageOf({ code: 7 }) // '{"code":7}'
 */
export const messageOf = (error: unknown): string => {
  try {
    if (error instanceof Error) return error.message
    if (typeof error === "string") return error
    const message = typeof error === "object" && error !== null ? (error as { message?: unknown }).message : undefined
    if (typeof message === "string") return message
    return JSON.stringify(error) ?? String(error)
  } catch {
    try {
      return String(error)
    } catch {
      return `(an unprintable ${typeof error} was thrown)`
    }
  }
}

/** A copy of `value` without its undefined fields. */
export const stripUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T
