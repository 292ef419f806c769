import type { z } from "zod"
import type { PendingCall } from "../compile/agent-conversation.ts"
import type { Thread } from "../contract/thread.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { parseApproval } from "../definition/steps/approval.ts"
import type { AnyStep, HumanStep } from "../definition/steps/step.ts"
import { jsonIssue } from "./json-values.ts"
import { DecisionError } from "./result.ts"

/** What a person deciding sees (the `human.waiting` prompt). */
export const approvalPrompt = (step: string, call: PendingCall): string =>
  `Agent "${step}" wants to call ${call.name}(${JSON.stringify(call.arguments)}) (call ${call.id}): approve, reject with a reason, or edit the arguments`

/**
 * The refusal of a decision that came after its wait's deadline: the timeout route applies (a
 * human step's `timeout` edge; for an agent's tool call, the call is refused) and the run is unchanged.
 */
export const lateDecision = (step: string, deadline: number, now = Date.now()): DecisionError =>
  new DecisionError(
    "late",
    `decision for "${step}" refused: its deadline passed at ${new Date(deadline).toISOString()} (${Math.max(0, now - deadline)} ms before it arrived), ` +
      "so the timeout route applies instead; the run is unchanged",
  )

/** Checks an approval decision for an agent step; throws a DecisionError naming what is wrong. */
export const checkApproval = (step: string, current: string, status: string, decision: unknown): unknown => {
  if (status !== "active" || (current !== step && current !== `${step}.awaitingApproval`)) {
    throw new DecisionError("not-waiting", `the run is not waiting on an approval in "${step}" (it is at "${current}")`)
  }
  const parsed = parseApproval(decision)
  if (!parsed.success) throw new DecisionError("invalid-decision", `approval decision for "${step}" is invalid`, parsed.issues)
  return jsonDecision(step, parsed.data)
}

/** Validates a human decision for the run's current state; throws a DecisionError naming what is wrong. */
export const checkDecision = (graph: PipelineGraph, current: string, status: string, step: string, decision: unknown): unknown => {
  const definition = graph.steps.get(step)
  if (definition === undefined) throw new DecisionError("not-human-step", `"${step}" is not a step of pipeline "${graph.id}"`)
  if (definition.kind === "agent") return checkApproval(step, current, status, decision)
  if (definition.kind !== "human") throw new DecisionError("not-human-step", `"${step}" is a ${definition.kind} step, not a human step`)
  if (status !== "active" || current !== step) throw new DecisionError("not-waiting", `the run is not waiting on "${step}" (it is at "${current}")`)
  return checkSchemaDecision(step, definition.decision, decision, null)
}

/**
 * Checks a decision for the wait at an address (a step of the pipeline, or one inside fan-out:
 * `brief.legal`, `refunds[2]`, `orders[1].approve`) against its step's schema; throws a
 * DecisionError naming the address.
 *
 * @example
 * checkDecisionAt(graph, "refunds[2]", { approve: true })
 */
export const checkDecisionAt = (graph: PipelineGraph, path: string, decision: unknown): unknown => {
  if (graph.steps.has(path)) return checkDecision(graph, path, "active", path, decision)
  const definition = stepAt(graph, path)
  if (definition === undefined) throw new DecisionError("not-human-step", `"${path}" names no step of pipeline "${graph.id}"`)
  if (definition.kind === "agent") return checkApproval(path, path, "active", decision)
  if (definition.kind !== "human") throw new DecisionError("not-human-step", `"${path}" is a ${definition.kind} step, not a human step`)
  return checkSchemaDecision(path, definition.decision, decision, null)
}

/**
 * Checks a decision for the wait at `path` against its step's schema (and, live, its deadline);
 * returns the parsed decision or throws a DecisionError naming the path.
 *
 * @example
 * checkSchemaDecision("refunds[2]", z.object({ approve: z.boolean() }), { approve: true }, null) // { approve: true }
 */
export const checkSchemaDecision = (path: string, schema: z.ZodType<unknown>, decision: unknown, deadline: number | null, now = Date.now()): unknown => {
  if (deadline !== null && deadline <= now) throw lateDecision(path, deadline, now)
  const parsed = schema.safeParse(decision)
  if (!parsed.success) {
    throw new DecisionError(
      "invalid-decision",
      `decision for "${path}" is invalid`,
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message })),
    )
  }
  return jsonDecision(path, parsed.data)
}

/**
 * The step definition a decision address names: a top-level step (`review`), a parallel branch
 * (`brief.legal`), a map item (`refunds[2]`), a step of a nested pipeline (`refund.approval`,
 * `orders[1].approve`, a later visit `refund#2.approval`), at any depth. Undefined when the
 * address names nothing of the pipeline.
 *
 * @example
 * stepAt(graph, "refunds[2]")?.kind // "human"
 */
export const stepAt = (graph: Pick<PipelineGraph, "steps">, path: string): AnyStep | undefined => {
  const top = /^[A-Za-z][A-Za-z0-9_-]*/.exec(path)?.[0]
  if (top === undefined) return undefined
  return within(graph.steps.get(top), path.slice(top.length))
}

const within = (step: AnyStep | undefined, rest: string): AnyStep | undefined => {
  if (step === undefined || rest === "") return step
  if (step.kind === "map") {
    const item = /^\[\d+\]/.exec(rest)?.[0]
    return item === undefined ? undefined : within(step.each as AnyStep, rest.slice(item.length))
  }
  if (step.kind === "parallel") {
    const branch = /^\.([A-Za-z][A-Za-z0-9_-]*)/.exec(rest)
    return branch === null ? undefined : within(step.branches[branch[1] as string] as AnyStep | undefined, rest.slice(branch[0].length))
  }
  if (step.kind === "pipeline") {
    const child = /^(?:#\d+)?\.([A-Za-z][A-Za-z0-9_-]*)/.exec(rest)
    if (child === null) return undefined
    const definitions = step.pipeline.definitions as ReadonlyMap<string, AnyStep>
    return within(definitions.get(child[1] as string), rest.slice(child[0].length))
  }
  return undefined
}

/**
 * The JSON Schema of the decision a wait expects: its human step's schema, or an approval's
 * (`{ action: "approve" }`, `{ action: "reject", reason }`, `{ action: "edit", arguments }`). A schema
 * zod cannot express in JSON Schema (a transform) is described as `{}` (any JSON value).
 *
 * @example
 * decisionSchemaOf(human({ decision: z.object({ ok: z.boolean() }) })) // { type: "object", properties: { ok: { type: "boolean" } }, ... }
 */
export const decisionSchemaOf = (step: AnyStep | undefined): Record<string, unknown> => {
  if (step?.kind !== "human") return step?.kind === "agent" ? approvalSchema : {}
  try {
    // What a person sends (the schema's input side); the schema's own method, since importing
    // zod's toJSONSchema here would load zod with the package.
    const { $schema: _dialect, ...schema } = (step.decision as z.ZodType).toJSONSchema({ unrepresentable: "any", io: "input" }) as Record<string, unknown>
    return schema
  } catch {
    return {}
  }
}

// An agent's tool-call approval (the shape parseApproval checks), flat so a form can be drawn from it.
const approvalSchema: Record<string, unknown> = {
  type: "object",
  properties: {
    action: { type: "string", enum: ["approve", "reject", "edit"], description: "run the call, refuse it, or run it with corrected arguments" },
    reason: { type: "string", description: "why it is refused (sent to the model); needed to reject" },
    arguments: { type: "object", description: "the corrected arguments; needed to edit" },
  },
  required: ["action"],
}

// A decision is journaled and replayed: one a journal would change or refuse is refused here, run unchanged.
const jsonDecision = (step: string, decision: unknown): unknown => {
  const issue = jsonIssue(decision)
  if (issue !== undefined) throw new DecisionError("invalid-decision", `decision for "${step}" is not a JSON value`, [issue])
  return decision
}

/**
 * A human step's prompt for the visit that waits. A prompt that throws must not lose the pause:
 * the person sees what went wrong instead. Shared by top-level waits and those inside fan-out.
 *
 * @example
 * humanPrompt(review, "approve[2]", { input: item, steps: {}, visit: 1, runId, thread: noThread })
 */
export const humanPrompt = (
  step: HumanStep<unknown, never>,
  name: string,
  context: {
    readonly input: unknown
    readonly steps: Readonly<Record<string, unknown>>
    readonly visit: number
    readonly runId: string
    readonly thread: Thread
  },
): string | undefined => {
  if (step.prompt === undefined) return undefined
  try {
    return (step.prompt as (context: unknown) => string)({ ...context, signal: AbortSignal.abort() })
  } catch (error) {
    return `(prompt of "${name}" threw: ${error instanceof Error ? error.message : String(error)})`
  }
}
