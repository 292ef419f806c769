// What `switchboard decide` prints when the decision is missing or has the wrong shape: the JSON
// Schema of what the step waits for (run/decisions.ts), so the next attempt can be right.
import type { AnyStep } from "../definition/steps/step.ts"
import { decisionSchemaOf } from "../run/decisions.ts"

/** What the CLI knows of a pipeline's steps (`Pipeline.definitions`). */
type Definitions = ReadonlyMap<string, { readonly kind: string }> | undefined

/**
 * The lines that show the decision a step expects, as JSON Schema; empty for a step that takes no
 * decision, or one whose schema JSON Schema cannot express.
 *
 * @example
 * decisionSchemaLines(triage.definitions, "review") // ['step "review" expects a decision of this JSON Schema:', '{ "type": "object", … }']
 */
export const decisionSchemaLines = (definitions: Definitions, step: string): string[] => {
  const schema = decisionSchemaOf(definitions?.get(step) as AnyStep | undefined)
  if (Object.keys(schema).length === 0) return []
  return [`step "${step}" expects a decision of this JSON Schema:`, JSON.stringify(schema, null, 2)]
}
