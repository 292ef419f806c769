// What a run may keep: step outputs, the run input and human decisions go through durable
// journals as JSON, so a value JSON would change or refuse is refused before it is journaled.

/**
 * Where a value stops being JSON and why: `path` is a JSON path from the value's root (`""` for
 * the value itself, `items[3].createdAt`, `["content-type"]`), `reason` says what was found and
 * what to return instead.
 *
 * @example
 * const problem: JsonValueProblem = { path: "items[3].createdAt", reason: "a Date is not a JSON value; return date.toISOString()" }
 */
export interface JsonValueProblem {
  readonly path: string
  readonly reason: string
}

/**
 * How deep a value may nest: deeper ones are refused rather than risking the stack.
 *
 * @example
 * const tooDeep = (levels: number) => levels > maxJsonDepth
 */
export const maxJsonDepth = 1000

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * A property name as a JSON path segment: `.name` for identifiers, `["a-b"]` otherwise.
 *
 * @example
 * jsonPathKey("fetch") // ".fetch"
 * jsonPathKey("my-step") // '["my-step"]'
 */
export const jsonPathKey = (key: string): string => (identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)

// Segments are collected only on the way out of a failure, so the walk of a good value builds no strings.
interface Found {
  readonly segments: Array<string | number>
  readonly reason: string
}

const instanceReason = (value: object): string => {
  if (value instanceof Date) return "a Date is not a JSON value; return date.toISOString()"
  if (value instanceof Map) return "a Map is not a JSON value; return Object.fromEntries(map) or [...map]"
  if (value instanceof Set) return "a Set is not a JSON value; return [...set]"
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return "binary data is not a JSON value; return it as a base64 string or an array of numbers"
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name
  const described =
    typeof name === "string" && name !== "" && name !== "Object"
      ? `${/^[AEIOU]/i.test(name) ? "an" : "a"} ${name} instance`
      : "an object with a custom prototype"
  return `${described} is not a JSON value (only plain objects and arrays are); return a plain object with its fields`
}

const primitiveReason = (value: unknown): string | undefined => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      if (Number.isFinite(value)) return undefined
      return `${String(value)} is not a JSON value (JSON turns it into null); return null or a string`
    case "bigint":
      return "a BigInt is not a JSON value; return value.toString() (or a number, if it is small enough)"
    case "undefined":
      return "undefined is not a JSON value; use null"
    case "function":
      return "a function is not a JSON value"
    case "symbol":
      return "a symbol is not a JSON value"
    default:
      return undefined
  }
}

// `ancestors[0..depth)` are the objects that contain this one: meeting one again is a cycle.
const walk = (value: unknown, depth: number, ancestors: object[]): Found | undefined => {
  if (value === null || typeof value !== "object") {
    const reason = primitiveReason(value)
    return reason === undefined ? undefined : { segments: [], reason }
  }
  for (let level = 0; level < depth; level++) {
    if (ancestors[level] === value) return { segments: [], reason: "a cycle: this value contains itself, and JSON cannot hold a cycle" }
  }
  if (depth >= maxJsonDepth) return { segments: [], reason: `nested deeper than ${maxJsonDepth} levels` }
  const prototype = Object.getPrototypeOf(value)
  ancestors[depth] = value
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return { segments: [], reason: instanceReason(value) }
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index]
      if (item === undefined) return { segments: [index], reason: "undefined in an array is not a JSON value (JSON turns it into null); use null" }
      if (item === null || typeof item === "string" || typeof item === "boolean") continue
      const found = walk(item, depth + 1, ancestors)
      if (found !== undefined) return (found.segments.push(index), found)
    }
    return undefined
  }
  if (prototype !== Object.prototype && prototype !== null) return { segments: [], reason: instanceReason(value) }
  // Own keys only, as JSON.stringify reads them (not what a polluted Object.prototype adds).
  for (const key of Object.keys(value)) {
    const item: unknown = (value as Record<string, unknown>)[key]
    // JSON drops an undefined property, and reading it back gives undefined again: kept exactly.
    if (item === undefined || item === null || typeof item === "string" || typeof item === "boolean") continue
    const found = walk(item, depth + 1, ancestors)
    if (found !== undefined) return (found.segments.push(key), found)
  }
  return undefined
}

const formatPath = (segments: ReadonlyArray<string | number>): string => {
  let path = ""
  for (let index = segments.length - 1; index >= 0; index--) {
    const segment = segments[index] as string | number
    path += typeof segment === "number" ? `[${segment}]` : jsonPathKey(segment)
  }
  return path.startsWith(".") ? path.slice(1) : path
}

/**
 * The first place where `value` is not a JSON value a journal keeps exactly, or `undefined` when
 * it is one. JSON values are `null`, booleans, strings, finite numbers, arrays without `undefined`
 * (or holes), and plain objects of JSON values; an object property whose value is `undefined` is
 * allowed (JSON drops it, and reading it back gives `undefined`). A `Date`, `Map`, `Set`, typed
 * array, class instance, `NaN`, `Infinity`, BigInt, function, symbol, a cycle, or nesting deeper
 * than {@link maxJsonDepth} is refused. Walks the value once; a shared (non-cyclic) object is fine.
 *
 * @example
 * jsonValueProblem({ items: [{ createdAt: new Date() }] })
 * // { path: "items[0].createdAt", reason: "a Date is not a JSON value; return date.toISOString()" }
 * jsonValueProblem({ createdAt: "2025-01-01T00:00:00.000Z" }) // undefined
 */
export const jsonValueProblem = (value: unknown): JsonValueProblem | undefined => {
  let found: Found | undefined
  try {
    found = walk(value, 0, [])
  } catch (error) {
    // A getter that throws, a revoked proxy: the value cannot even be read, let alone journaled.
    return { path: "", reason: `it cannot be read (${error instanceof Error ? error.message : String(error)})` }
  }
  return found === undefined ? undefined : { path: formatPath(found.segments), reason: found.reason }
}

/**
 * A problem's path under a root, as a message names it: `steps.fetch.output.items[3].createdAt`.
 *
 * @example
 * jsonPathUnder("steps.fetch.output", { path: "items[3]", reason: "…" }) // "steps.fetch.output.items[3]"
 */
export const jsonPathUnder = (root: string, problem: JsonValueProblem): string => {
  if (problem.path === "") return root
  if (root === "") return problem.path
  return problem.path.startsWith("[") ? `${root}${problem.path}` : `${root}.${problem.path}`
}
