import { isSchema, sampleValues } from "./sample.ts"

/**
 * What a path feeds each step, by step name. Invoked steps (llm, fn, tool): the output, or a zod
 * schema to generate one from (default `undefined`; routes are steered by the path, not by it).
 * Human steps: candidate decisions (one, an array, or a zod schema to generate them from); for
 * each route the first candidate the route sends there is used.
 *
 * @example
 * const fixtures: Fixtures = { classify: Classification, review: [{ kind: "refund" }, { kind: "question" }] }
 */
export type Fixtures = Readonly<Record<string, unknown>>

/** The output an invoked step's actor resolves with on a path. */
export const fixtureOutput = (fixtures: Fixtures, step: string): unknown => {
  const fixture = fixtures[step]
  return isSchema(fixture) ? sampleValues(fixture)[0] : fixture
}
