// What `switchboard decide` prints when the decision is missing or has the wrong shape: the JSON
// Schema of what the step waits for, so the next attempt can be right.
import { z } from "zod"

// An agent's tool-call approval (the shape definition/steps/approval.ts checks).
const approval = {
  type: "object",
  properties: {
    action: { type: "string", enum: ["approve", "reject", "edit"] },
    reason: { type: "string", description: "why the call is refused (sent to the model); needed to reject" },
    arguments: { type: "object", description: "the corrected arguments; needed to edit" },
  },
  required: ["action"],
}

/** What the CLI knows of a pipeline's steps (`Pipeline.definitions`). */
type Definitions = ReadonlyMap<string, { readonly kind: string; readonly decision?: unknown }> | undefined

/**
 * The lines that show the decision a step expects, as JSON Schema; empty for a step that takes no
 * decision, or one whose schema JSON Schema cannot express.
 *
 * @example
 * decisionSchemaLines(triage.definitions, "review") // ['step "review" expects a decision of this JSON Schema:', '{ "type": "object", … }']
 */
export const decisionSchemaLines = (definitions: Definitions, step: string): string[] => {
  const definition = definitions?.get(step)
  let schema: unknown
  if (definition?.kind === "agent") schema = approval
  else if (definition?.kind === "human" && definition.decision instanceof z.ZodType) {
    try {
      const { $schema: _dialect, ...rest } = z.toJSONSchema(definition.decision, { unrepresentable: "any", io: "input" }) as Record<string, unknown>
      schema = rest
    } catch {
      return []
    }
  } else return []
  return [`step "${step}" expects a decision of this JSON Schema:`, JSON.stringify(schema, null, 2)]
}
