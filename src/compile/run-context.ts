// The vocabulary the compiled chart and the run layer's actors share: the machine's context,
// input, events and output. JSON only, so a snapshot can be persisted and restored.
import type { RunError } from "../contract/errors.ts"
import type { RunStatus } from "../contract/events.ts"
import type { AgentConversation } from "./agent-conversation.ts"

/**
 * The machine's context: JSON only, so a snapshot can be persisted and restored.
 *
 * @example
 * const answer = (context: RunContext) => context.steps["answer"]
 */
export interface RunContext {
  readonly runId: string
  readonly input: unknown
  /** Latest output of every step that has finished. */
  readonly steps: Readonly<Record<string, unknown>>
  /** How many times each step has been entered. */
  readonly visits: Readonly<Record<string, number>>
  /** Latest error of steps that failed and were routed by their `error` edge. */
  readonly errors: Readonly<Record<string, RunError>>
  readonly last: string | null
  readonly status: RunStatus
  readonly error: RunError | null
  readonly stoppedBy: { readonly step: string; readonly rule: string } | null
  readonly waiting: { readonly step: string; readonly deadline: number | null } | null
  /** Deadlines a resumed run already journaled, by `step#visit`: a restart never moves them. */
  readonly deadlines: Readonly<Record<string, number>>
  /** Outputs of the branches of parallel steps, by `step.branch`, while the step runs. */
  readonly branches?: Readonly<Record<string, unknown>>
  /** Agent steps: the conversation of each one's latest visit (messages, turns, tool calls, usage). */
  readonly agents?: Readonly<Record<string, AgentConversation>>
  /**
   * The error an `error` edge is taking the run on with: its target's visit `visit` reads it as
   * `ctx.error`. The visit number keeps a later visit of the same step (a loop) from reading it.
   */
  readonly routedError?: { readonly to: string; readonly visit: number; readonly error: RunError & { readonly step: string } }
}

/**
 * What the machine is created with: `createActor(p.machine, { input: { input: { ticket } } })`.
 *
 * @example
 * const machineInput: MachineInput = { input: { ticket: "refund please" }, runId: "run-1" }
 */
export interface MachineInput {
  readonly input: unknown
  readonly runId?: string
  /** Deadlines of human step visits, by `step#visit`, from a resumed run's journal. */
  readonly deadlines?: Readonly<Record<string, number>>
}

/**
 * Events a pipeline machine accepts: `<step>.decide` for human steps, `<step>.expire` to apply a
 * human step's timeout now, and `run.cancel`.
 *
 * @example
 * actor.send({ type: "review.decide", decision: { approve: true } })
 */
export type PipelineEvent =
  | { readonly type: `${string}.decide`; readonly decision: unknown }
  | { readonly type: `${string}.expire` }
  | { readonly type: "run.cancel"; readonly reason?: string; readonly error?: RunError }

/**
 * The types of {@link PipelineEvent}, built in one place so that no step name can make one event
 * read as another. A step's events are `<step>.<verb>` with the verbs `decide` and `expire`; a step
 * name has no dot, so the step is the whole first part, and no run event (`run.cancel`) nor XState
 * event of two parts (`xstate.init`, `xstate.stop`, `xstate.error`) uses those verbs. XState's
 * other events (`xstate.done.actor.<id>`, `xstate.after.<delay>.<state>`, …) have more parts.
 * Read an event by comparing its whole type with one of these, never by a suffix: a step named
 * `decide` finishes with `xstate.done.actor.decide`.
 *
 * @example
 * actor.send({ type: machineEvents.decide("review"), decision: { approve: true } }) // "review.decide"
 */
export const machineEvents = {
  /** A person's decision for a human step, or an approval for the agent step waiting on one. */
  decide: (step: string): `${string}.decide` => `${step}.decide`,
  /** Applies the deadline of the human step (or the agent's pending approval) now. */
  expire: (step: string): `${string}.expire` => `${step}.expire`,
  /** Cancels the run. */
  cancel: "run.cancel",
} as const

/** What a step actor resolves with: the output and the target its edge chose. */
export interface StepDone {
  readonly output: unknown
  readonly next: string
}

/** What the machine returns when it reaches a final state. */
export interface MachineOutput {
  readonly status: RunStatus
  readonly steps: Readonly<Record<string, unknown>>
  readonly last: string | null
  readonly error: RunError | null
  readonly stoppedBy: { readonly step: string; readonly rule: string } | null
}

/** The context of a run that has not moved yet. */
export const initialContext = (runId: string, input: unknown, deadlines: Readonly<Record<string, number>> = {}): RunContext => ({
  runId,
  input,
  steps: {},
  visits: {},
  errors: {},
  last: null,
  status: "running",
  error: null,
  stoppedBy: null,
  waiting: null,
  deadlines,
})

/**
 * What an `error` edge from `step` to `to` leaves for its target: the error (with the step it
 * came from, when it did not say) for the visit of `to` that is entered next.
 *
 * @example
 * assign(({ context, event }) => ({ routedError: routedErrorFor(context, "charge", "recover", event.error) }))
 */
export const routedErrorFor = (context: RunContext, step: string, to: string, error: RunError): NonNullable<RunContext["routedError"]> => ({
  to,
  visit: (context.visits[to] ?? 0) + 1,
  error: { ...error, step: "step" in error && typeof error.step === "string" ? error.step : step },
})
