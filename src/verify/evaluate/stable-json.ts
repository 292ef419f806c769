/**
 * JSON with object keys sorted: two values that mean the same give the same text, whatever
 * order a store or a model put their keys in.
 *
 * @example
 * stableJson({ b: 1, a: 2 }) === stableJson({ a: 2, b: 1 }) // true
 */
export const stableJson = (value: unknown): string =>
  JSON.stringify(value, (_, field: unknown) =>
    field !== null && typeof field === "object" && !Array.isArray(field)
      ? Object.fromEntries(Object.entries(field).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)))
      : field,
  ) ?? "undefined"
