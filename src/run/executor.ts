import type { ActorOptions, AnyActorLogic } from "xstate"
import type { RunServices } from "./services.ts"

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
   * Runs one unit of work: a step visit (`key` is `step#visit`), a parallel branch
   * (`step.branch#visit`), an agent's model turn or tool batch (`step#visit#turn3`,
   * `step#visit#tools3`). Call `run` with the services it should use (e.g. a `record` that
   * buffers its events) and resolve with its outcome (JSON), or reject with the RunError it
   * rejected with.
   */
  readonly runStep: <TOutcome>(key: string, run: (services: RunServices) => Promise<TOutcome>, services: RunServices) => Promise<TOutcome>
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

/**
 * Runs `run` through the run's executor when it has one (so a durable engine journals it under
 * `key`), else directly.
 *
 * @example
 * const done = await throughExecutor(services, "classify#1", (bound) => executeStep(bound))
 */
export const throughExecutor = <TOutcome>(services: RunServices, key: string, run: (services: RunServices) => Promise<TOutcome>): Promise<TOutcome> =>
  services.executor === undefined ? run(services) : services.executor.runStep(key, run, services)

// Node runs a timer of more than 2^31 - 1 ms (about 24.8 days) after 1 ms: a human step with a
// 30-day deadline would time out at once. Longer delays are reached in hops of at most that.
const longestTimer = 2_147_483_647

/**
 * The clock a run's machine uses unless its engine gives one: real timers, of any length.
 *
 * @example
 * const actor = createActor(machine, { clock: longTimerClock })
 */
export const longTimerClock: Clock = {
  setTimeout: (fn: (...args: unknown[]) => void, ms: number) => {
    const handle: { timer?: ReturnType<typeof setTimeout> } = {}
    const due = Date.now() + ms
    const arm = (left: number) => {
      handle.timer = setTimeout(() => (due - Date.now() > 0 && left > longestTimer ? arm(due - Date.now()) : fn()), Math.min(left, longestTimer))
    }
    arm(ms)
    return handle
  },
  clearTimeout: (handle: unknown) => clearTimeout((handle as { timer?: ReturnType<typeof setTimeout> } | undefined)?.timer),
}
