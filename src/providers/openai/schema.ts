// JSON Schema handling shared by both APIs: OpenAI's strict mode accepts only schemas where every
// object lists all its properties as required and forbids extra ones.

type Schema = Record<string, unknown>

/** The schema without `$schema` (draft markers are not part of what OpenAI accepts). */
export const wireSchema = (schema: Schema): Schema => {
  const { $schema: _draft, ...rest } = schema
  return rest
}

/**
 * Whether OpenAI's strict mode can take this schema as it is: every object has
 * `additionalProperties: false` and requires all its properties. zod's `z.toJSONSchema` emits
 * `additionalProperties: false` for `z.object`, but leaves `.optional()` fields out of
 * `required`, so such schemas go out with `strict: false` (the answer is still validated by zod).
 */
export const isStrictCompatible = (schema: unknown): boolean => {
  if (Array.isArray(schema)) return schema.every(isStrictCompatible)
  if (typeof schema !== "object" || schema === null) return true
  const node = schema as Schema
  const properties = node["properties"]
  const isObject = node["type"] === "object" || (Array.isArray(node["type"]) && node["type"].includes("object")) || properties !== undefined
  if (isObject) {
    if (node["additionalProperties"] !== false) return false
    const keys = typeof properties === "object" && properties !== null ? Object.keys(properties) : []
    const required = Array.isArray(node["required"]) ? node["required"] : []
    if (!keys.every((key) => required.includes(key))) return false
  }
  return Object.entries(node).every(([key, value]) => key === "enum" || key === "const" || key === "default" || key === "examples" || isStrictCompatible(value))
}

/** A name OpenAI accepts for a schema or format (`^[a-zA-Z0-9_-]{1,64}$`). */
export const wireName = (name: string): string => name.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64) || "output"

/** The instruction added when a server is not asked for JSON-schema mode but must still answer in shape. */
export const schemaInstruction = (schema: Schema): string =>
  `Answer with a single JSON object, and nothing else, that matches this JSON Schema:\n${JSON.stringify(wireSchema(schema))}`
