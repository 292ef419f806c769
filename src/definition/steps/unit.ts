import { resolvePolicy } from "../policy.ts"
import type { AnyStep } from "./step.ts"

/**
 * Checks a step that runs inside another (a parallel branch, a map item): it must be a step
 * definition that runs to completion on its own. Throws a TypeError naming `where`.
 */
export const checkUnit = (where: string, step: AnyStep): void => {
  if (typeof step !== "object" || step === null || typeof (step as { kind?: unknown }).kind !== "string") {
    throw new TypeError(`${where} is not a step definition: build it with fn(), llm(), callTool(), map() or subpipeline()`)
  }
  if (step.kind === "human") {
    throw new TypeError(`${where} is a human step: a decision can only be awaited by a step of the pipeline itself (put the human step before or after)`)
  }
  if (step.kind === "parallel" || step.kind === "agent") {
    throw new TypeError(
      `${where} is ${step.kind === "agent" ? "an agent" : "a parallel"} step: nest it in a pipeline and use subpipeline(child, { input }) instead`,
    )
  }
  // A bad duration fails here, naming the branch or item, not when the first item runs.
  if (step.policy !== undefined) resolvePolicy(where, step.policy)
}
