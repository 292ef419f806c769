import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import { type RunError, type StepError, serializeStepError } from "../../contract/errors.ts"
import { visitKey } from "../../contract/keys.ts"
import type { MapStep } from "../../definition/steps/fanout-step.ts"
import type { StepRun } from "../services.ts"
import { runCode } from "./run-code.ts"
import { runUnit, unitPolicy } from "./run-unit.ts"

/** A stable digest of an item list: a resumed run checks it recomputed the same list. */
export const fingerprintOf = (items: readonly unknown[]): string =>
  createHash("sha256")
    .update(JSON.stringify(items) ?? "")
    .digest("hex")
    .slice(0, 32)

// A FanoutError is already the JSON a journal holds: it travels in the failure channel as is
// (serializeStepError passes RunErrors through).
const fanoutError = (
  step: string,
  reason: "items-changed" | "too-many-items" | "invalid-items" | "too-few-succeeded",
  message: string,
  errors?: readonly RunError[],
) => ({ _tag: "FanoutError", step, reason, message, ...(errors === undefined ? {} : { errors }) }) satisfies RunError as unknown as StepError

/**
 * A `map` step: computes the item list, journals its size and fingerprint (a resumed run must
 * compute the same list), then runs `each` per item under the concurrency cap. Item outputs come
 * back in input order. `fail-fast` interrupts the other items at the first failure (their signals
 * fire, no new item starts); `collect` and `atLeast(k)` keep per-item results.
 */
export const runMap = (step: MapStep<unknown, unknown>, stepRun: StepRun): Effect.Effect<unknown, StepError> =>
  Effect.gen(function* () {
    const { name, context, services, base } = stepRun
    const items = yield* runCode(name, () => step.over(context))
    if (!Array.isArray(items)) {
      return yield* Effect.fail(fanoutError(name, "invalid-items", `map "${name}": over() returned ${items === null ? "null" : typeof items}, not an array`))
    }
    if (step.maxItems !== undefined && items.length > step.maxItems) {
      return yield* Effect.fail(
        fanoutError(name, "too-many-items", `map "${name}": over() returned ${items.length} items, more than maxItems (${step.maxItems})`),
      )
    }
    let fingerprint: string
    try {
      fingerprint = fingerprintOf(items)
    } catch (error) {
      return yield* Effect.fail(
        fanoutError(
          name,
          "invalid-items",
          `map "${name}": the items must be JSON (a resumed run checks it computed the same list): ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
    }
    const journaled = services.replay?.lists?.get(visitKey(name, context.visit))
    if (journaled !== undefined && (journaled.count !== items.length || journaled.fingerprint !== fingerprint)) {
      return yield* Effect.fail(
        fanoutError(
          name,
          "items-changed",
          `map "${name}": on resume over() returned ${items.length} items (fingerprint ${fingerprint}), but the run journaled ${journaled.count} (fingerprint ${journaled.fingerprint}); finished items cannot be matched to a changed list`,
        ),
      )
    }
    yield* Effect.promise(async () => stepRun.record({ type: "map.listed", ...base, count: items.length, fingerprint, at: Date.now() }))
    if (items.length === 0) return []
    const policy = step.onItemError
    const required = policy === "fail-fast" ? items.length : policy === "collect" ? 0 : policy.atLeast
    if (required > items.length) {
      return yield* Effect.fail(fanoutError(name, "too-few-succeeded", `map "${name}": atLeast(${required}) can never hold over ${items.length} items`))
    }
    const policies = { pipeline: stepRun.pipelinePolicy, resolved: unitPolicy(`${name}[]`, step.each, stepRun.pipelinePolicy, step.policy) }
    const runItem = (item: unknown, index: number) =>
      Effect.callback<unknown, RunError>((resume, signal) => {
        const path = `${name}[${index}]`
        const finished = runUnit(step.each, path, context.visit, item, {}, policies, services, signal, stepRun.executeStep)
        finished.then(
          (output) => resume(Effect.succeed(output)),
          (error: unknown) => resume(Effect.fail(serializeStepError(path, error))),
        )
        // Interrupted (a sibling failed, the run was cancelled): wait until this item journaled its end.
        return Effect.promise(() =>
          finished.then(
            () => {},
            () => {},
          ),
        )
      })
    const concurrency = step.concurrency ?? "unbounded"
    // While only its items run, the map itself is not busy: items waiting for people can pause the run.
    const itemsOnly = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.acquireUseRelease(
        Effect.sync(() => services.busy?.release()),
        () => effect,
        () => Effect.sync(() => services.busy?.hold()),
      )
    if (policy === "fail-fast") return yield* itemsOnly(Effect.forEach(items, runItem, { concurrency })) as Effect.Effect<unknown, StepError>
    const failures: RunError[] = []
    return yield* itemsOnly(
      Effect.forEach(
        items,
        (item, index) =>
          runItem(item, index).pipe(
            Effect.map((value) => ({ ok: true as const, value })),
            Effect.catch((error: RunError) => {
              failures.push(error)
              // Fail as soon as too few items can still succeed: the rest would run for nothing.
              if (items.length - failures.length < required) {
                return Effect.fail(
                  fanoutError(
                    name,
                    "too-few-succeeded",
                    `map "${name}": ${failures.length} of ${items.length} items failed, so fewer than ${required} can succeed`,
                    [...failures],
                  ),
                )
              }
              return Effect.succeed({ ok: false as const, error })
            }),
          ),
        { concurrency },
      ),
    ) as Effect.Effect<unknown, StepError>
  })
