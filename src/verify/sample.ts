// Small, deterministic sample values from a zod schema, through its JSON Schema: enough variety to
// steer routes (each enum value, both booleans, a low and a high number), never random.
import type { z } from "zod"

type JsonSchema = {
  readonly type?: string | readonly string[]
  readonly const?: unknown
  readonly enum?: readonly unknown[]
  readonly anyOf?: readonly JsonSchema[]
  readonly oneOf?: readonly JsonSchema[]
  readonly allOf?: readonly JsonSchema[]
  readonly properties?: Readonly<Record<string, JsonSchema>>
  readonly required?: readonly string[]
  readonly items?: JsonSchema
  readonly minItems?: number
  readonly minimum?: number
  readonly maximum?: number
  readonly exclusiveMinimum?: number
  readonly exclusiveMaximum?: number
  readonly minLength?: number
  readonly default?: unknown
  readonly examples?: readonly unknown[]
}

const limit = 32

const numbers = (schema: JsonSchema, integer: boolean): number[] => {
  const low = schema.minimum ?? (schema.exclusiveMinimum === undefined ? 0 : schema.exclusiveMinimum + (integer ? 1 : 0.01))
  const high = schema.maximum ?? (schema.exclusiveMaximum === undefined ? Math.max(low, 0) + 1 : schema.exclusiveMaximum - (integer ? 1 : 0.01))
  return [...new Set([low, high])]
}

const candidates = (schema: JsonSchema): unknown[] => {
  if (schema.examples !== undefined && schema.examples.length > 0) return [...schema.examples]
  if ("const" in schema) return [schema.const]
  if (schema.enum !== undefined) return [...schema.enum]
  const variants = schema.anyOf ?? schema.oneOf
  if (variants !== undefined) return variants.flatMap(candidates).slice(0, limit)
  if (schema.allOf !== undefined && schema.allOf.length === 1) return candidates(schema.allOf[0] as JsonSchema)
  const types = schema.type === undefined ? [] : typeof schema.type === "string" ? [schema.type] : schema.type
  return types.flatMap((type): unknown[] => {
    switch (type) {
      case "boolean":
        return [true, false]
      case "number":
        return numbers(schema, false)
      case "integer":
        return numbers(schema, true)
      case "string":
        return ["x".repeat(Math.max(1, schema.minLength ?? 1))]
      case "null":
        return [null]
      case "array": {
        const item = candidates(schema.items ?? {})[0]
        return [Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => item)]
      }
      case "object":
        return objects(schema)
      default:
        return []
    }
  })
}

// One object per variation of one property at a time (not the cartesian product), plus one
// without the optional properties: routes often branch on a field being there.
const objects = (schema: JsonSchema): unknown[] => {
  const properties = Object.entries(schema.properties ?? {}).map(([key, property]) => [key, candidates(property)] as const)
  const base = Object.fromEntries(properties.flatMap(([key, values]) => (values.length === 0 ? [] : [[key, values[0]]])))
  const variations = properties.flatMap(([key, values]) => values.slice(1).map((value) => ({ ...base, [key]: value })))
  const required = new Set(schema.required ?? [])
  const withoutOptional = Object.fromEntries(Object.entries(base).filter(([key]) => required.has(key)))
  return [base, ...variations, withoutOptional].slice(0, limit)
}

/**
 * Sample values of a zod schema that pass it: each enum value, both booleans, the lowest and highest
 * allowed number, a short string; objects vary one field at a time. Empty when none can be made.
 *
 * @example
 * sampleValues(z.object({ kind: z.enum(["refund", "bug"]), confidence: z.number().min(0).max(1) }))
 * // [{ kind: "refund", confidence: 0 }, { kind: "bug", confidence: 0 }, { kind: "refund", confidence: 1 }, …]
 */
export const sampleValues = (schema: z.ZodType): unknown[] => {
  let json: JsonSchema
  try {
    json = schema.toJSONSchema({ unrepresentable: "any", io: "input" }) as JsonSchema
  } catch {
    return []
  }
  const seen = new Set<string>()
  return candidates(json).filter((value) => {
    const key = JSON.stringify(value)
    if (seen.has(key) || !schema.safeParse(value).success) return false
    seen.add(key)
    return true
  })
}

/** Whether a value is a zod schema (fixtures may give one instead of a value). */
export const isSchema = (value: unknown): value is z.ZodType =>
  typeof value === "object" && value !== null && typeof (value as { safeParse?: unknown }).safeParse === "function"
