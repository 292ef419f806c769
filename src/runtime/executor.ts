import type { ActorOptions, AnyActorLogic } from "xstate"
import type { StepDone } from "../graph/compile.ts"
import type { RunServices } from "../steps/step-run.ts"

/**
 * XState's timer clock (`setTimeout` / `clearTimeout`), as `createActor` takes it.
 *
 * @example
 * const realTime: Clock = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (id) => clearTimeout(id) }
 */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>["clock"]>

/**
 * Where the step visits of a run execute. The local runtime runs each visit directly; a durable
 * engine (Restate, through `switchboard/restate`) wraps each one in its own journal so that a
 * replay returns the recorded outcome instead of running the step again.
 *
 * @example
 * const direct: StepExecutor = { runStep: (key, run, services) => run(services) }
 * await triage.run({ ticket: "refund please" }, { models, executor: direct })
 */
export interface StepExecutor {
  /**
   * Runs one visit (`key` is `step#visit`): call `run` with the services the step should use
   * (e.g. a `record` that buffers the visit's events) and resolve with its outcome, or reject
   * with the RunError it rejected with.
   */
  readonly runStep: (key: string, run: (services: RunServices) => Promise<StepDone>, services: RunServices) => Promise<StepDone>
  /**
   * The machine's timer clock (human deadlines). An engine that owns deadlines durably passes a
   * clock whose timers never fire and applies expiries itself with `<step>.expire`.
   */
  readonly clock?: Clock
}

/**
 * A clock whose timers never fire: for engines that keep human deadlines in their own journal.
 *
 * @example
 * const executor: StepExecutor = { runStep: (key, run, services) => run(services), clock: silentClock }
 */
export const silentClock: Clock = {
  setTimeout: () => undefined,
  clearTimeout: () => {},
}
