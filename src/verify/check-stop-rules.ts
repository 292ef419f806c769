// Agent stop rules that name a tool the agent does not have: `hasToolCall("giveUp")` for an agent
// without a `giveUp` tool can never fire, so the loop it was meant to end runs to its other rules.
import type { AnyStep } from "../definition/steps/step.ts"
import type { Finding } from "./check.ts"

/**
 * An error for every `hasToolCall(name)` (inside `and`/`or`/`not` too) whose tool the agent lacks.
 *
 * @example
 * stopRuleFindings(pipeline.definitions) // [{ severity: "error", code: "stop-rule-unknown-tool", steps: ["refund"], … }]
 */
export const stopRuleFindings = (definitions: ReadonlyMap<string, AnyStep>): Finding[] =>
  [...definitions.entries()].flatMap(([step, definition]): Finding[] => {
    if (definition.kind !== "agent") return []
    const tools = Object.keys(definition.tools)
    const named = definition.stop.flatMap((rule) => [...rule.name.matchAll(/hasToolCall\(([^()]*)\)/g)].map((match) => match[1] as string))
    return [...new Set(named)]
      .filter((tool) => !tools.includes(tool))
      .map((tool) => ({
        severity: "error",
        code: "stop-rule-unknown-tool",
        steps: [step],
        message: `agent "${step}": the stop rule hasToolCall("${tool}") names a tool the agent does not have (its tools: ${tools.length === 0 ? "none" : tools.join(", ")}); it can never fire`,
        fix: `add a "${tool}" tool to the agent's tools, or name one of its tools in hasToolCall(...)`,
      }))
  })
