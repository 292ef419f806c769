// A human step that runs inside fan-out (a parallel branch, a map item): it waits for its decision
// without holding the run, which pauses only once nothing else can progress (run/wait-board.ts).
// Its decision is its output. A resumed run takes a journaled decision or expiry instead of
// waiting again; a deadline that passed meanwhile expires it now, as it would have live.
import { toMillis } from "../contract/duration.ts"
import type { RunError } from "../contract/errors.ts"
import { visitKey } from "../contract/keys.ts"
import { noThread } from "../contract/thread.ts"
import type { HumanStep } from "../definition/steps/step.ts"
import { checkSchemaDecision, humanPrompt } from "./decisions.ts"
import type { RunServices } from "./services.ts"

// Node's timers take at most 2^31 - 1 ms: a later deadline is reached in hops.
const longestDelay = 2_147_483_647

/**
 * Waits for the decision of a human step at `path` (its journaled name) inside fan-out; resolves
 * with the decision, rejects with a `HumanTimeoutError` at the deadline or a `CancelledError`
 * when the enclosing step is left (nothing journaled then: a resumed run waits again).
 *
 * @example
 * const decision = await awaitHuman(step, "refunds[2]", 1, item, {}, services, signal)
 */
export const awaitHuman = (
  step: HumanStep<unknown, never>,
  path: string,
  visit: number,
  input: unknown,
  steps: Readonly<Record<string, unknown>>,
  services: RunServices,
  signal: AbortSignal,
): Promise<unknown> => {
  const { runId, replay } = services
  const key = visitKey(path, visit)
  const timeoutMs = step.timeout === undefined ? undefined : toMillis(step.timeout)
  const timedOut = (): RunError => ({ _tag: "HumanTimeoutError", step: path, ms: timeoutMs ?? 0, message: `no decision for "${path}" within ${timeoutMs}ms` })
  if (replay?.decisions.has(key) === true) return Promise.resolve(replay.decisions.get(key))
  if (replay?.expired.has(key) === true) return Promise.reject(timedOut())
  const deadline = timeoutMs === undefined ? null : (replay?.deadlines.get(key) ?? Date.now() + timeoutMs)
  return new Promise((resolve, reject) => {
    let close: (expiredAt?: number) => void = () => {}
    let timer: ReturnType<typeof setTimeout> | undefined
    const end = () => {
      clearTimeout(timer)
      signal.removeEventListener("abort", onAbort)
    }
    const expire = () => {
      end()
      close(deadline ?? Date.now())
      void Promise.resolve(services.record({ type: "human.expired", runId, step: path, visit, at: Date.now() })).then(() => reject(timedOut()), reject)
    }
    const onAbort = () => {
      end()
      close()
      reject({ _tag: "CancelledError", step: path, message: `the wait for a decision on "${path}" was cancelled` } satisfies RunError)
    }
    if (signal.aborted) return onAbort()
    signal.addEventListener("abort", onAbort, { once: true })
    if (deadline !== null && deadline <= Date.now()) return expire()
    const prompt = humanPrompt(step, path, { input, steps, visit, runId: services.runId, thread: services.thread?.() ?? noThread })
    const arm = () => {
      if (deadline === null) return
      timer = setTimeout(() => (deadline - Date.now() > 0 ? arm() : expire()), Math.min(longestDelay, Math.max(0, deadline - Date.now())))
    }
    // Open before it is journaled: whoever hears of the wait (an observer) can decide it at once,
    // and the journal still gets the wait before the decision (its writer keeps the order).
    arm()
    close =
      services.waits?.open({
        path,
        visit,
        prompt,
        deadline,
        check: (decision) => checkSchemaDecision(path, step.decision, decision, deadline),
        deliver: (decision) => {
          end()
          close()
          resolve(decision)
        },
      }) ?? (() => {})
    Promise.resolve(
      services.record({
        type: "human.waiting",
        runId,
        step: path,
        visit,
        ...(prompt === undefined ? {} : { prompt }),
        ...(deadline === null ? {} : { deadline }),
        at: Date.now(),
      }),
    ).catch((error: unknown) => {
      end()
      close()
      reject(error)
    })
  })
}
