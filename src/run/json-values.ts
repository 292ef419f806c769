// Where a run refuses what a journal could not keep exactly: a step's output when the step ends,
// the run input when the run starts, a decision when it arrives (contract/json-value.ts says what).
import type { RunError } from "../contract/errors.ts"
import { jsonPathKey, jsonPathUnder, jsonValueProblem } from "../contract/json-value.ts"

/**
 * The failure of a step whose output is not a JSON value: a `StepCodeError` (never retried: the
 * same code returns the same kind of value) whose message names the JSON path, e.g.
 * `steps.fetch.output.items[3].createdAt: a Date is not a JSON value; return date.toISOString()`.
 * `undefined` when the output is fine.
 *
 * @example
 * const refused = outputRefusal("fetch", "fetch", { at: new Date() }) // a StepCodeError RunError
 */
export const outputRefusal = (journaledStep: string, localStep: string, output: unknown): RunError | undefined => {
  const problem = jsonValueProblem(output)
  if (problem === undefined) return undefined
  const path = jsonPathUnder(`steps${jsonPathKey(localStep)}.output`, problem)
  return { _tag: "StepCodeError", step: journaledStep, retryable: false, message: `${path}: ${problem.reason}` }
}

/**
 * A value's first non-JSON part as a validation issue (`path` relative to the value, `(root)` for
 * the value itself), or `undefined` when it is a JSON value.
 *
 * @example
 * jsonIssue({ at: new Date() }) // { path: "at", message: "a Date is not a JSON value; return date.toISOString()" }
 */
export const jsonIssue = (value: unknown): { readonly path: string; readonly message: string } | undefined => {
  const problem = jsonValueProblem(value)
  return problem === undefined ? undefined : { path: problem.path === "" ? "(root)" : problem.path, message: problem.reason }
}
