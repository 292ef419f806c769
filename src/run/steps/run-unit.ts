import { initialContext, type RunContext } from "../../compile/run-context.ts"
import { visitKey } from "../../contract/keys.ts"
import type { NormalizedEdge } from "../../definition/edges.ts"
import type { ResolvedPolicy, StepPolicy } from "../../definition/policy.ts"
import { type AnyStep, type HumanStep, policyOfStep } from "../../definition/steps/step.ts"
import { awaitHuman } from "../nested-human.ts"
import type { ExecuteStep, RunServices } from "../services.ts"

const toDone: NormalizedEdge = { targets: ["done"], select: undefined, error: undefined, timeout: undefined, stop: [], stopped: undefined }

/**
 * The policy of a step that runs inside another (a branch, a map item): the pipeline's default,
 * then the enclosing step's, then its own, field by field.
 */
export const unitPolicy = (path: string, unit: AnyStep, ...policies: ReadonlyArray<StepPolicy | undefined>): ResolvedPolicy =>
  policyOfStep(`step "${path}"`, unit, ...policies)

/**
 * Runs a step inside another (a parallel branch, a map item) as its own journaled step named by
 * its full path (`extract.title`, `summarise[3]`), with `input` as its input. A resumed run takes a
 * journaled result instead of running it again. Resolves with the output; rejects with a RunError.
 * `executeStep` is passed in (a map item runs a step, which may be a map): no import cycle.
 */
export const runUnit = async (
  unit: AnyStep,
  path: string,
  visit: number,
  input: unknown,
  steps: Readonly<Record<string, unknown>>,
  policies: { readonly pipeline: StepPolicy | undefined; readonly resolved: ResolvedPolicy },
  services: RunServices,
  signal: AbortSignal,
  executeStep: ExecuteStep,
): Promise<unknown> => {
  const replayed = services.replay?.steps.get(visitKey(path, visit))
  if (replayed !== undefined) {
    if ("done" in replayed) return replayed.done.output
    throw replayed.error
  }
  // A person decides: the unit waits without holding the run (its siblings go on), its decision is its output.
  if (unit.kind === "human") return awaitHuman(unit as HumanStep<unknown, never>, path, visit, input, steps, services, signal)
  // Busy while it runs: a run whose other units wait for people pauses only once this one ended.
  const busy = services.waits?.busy()
  // The pipeline's policy goes along: a map or nested step inside this unit starts from it too.
  const graph = { id: path, steps: new Map([[path, unit]]), edges: new Map([[path, toDone]]), policy: policies.pipeline }
  const context: RunContext = { ...initialContext(services.runId, input), steps, visits: { [path]: visit } }
  // The path is already complete: the unit's own steps (a nested pipeline's) prefix from it.
  const { path: _prefix, ...unprefixed } = services
  try {
    const done = await executeStep(graph, path, policies.resolved, context, { ...unprefixed, ...(busy === undefined ? {} : { busy }) }, signal)
    return done.output
  } finally {
    busy?.release()
  }
}
