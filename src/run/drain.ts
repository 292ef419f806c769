// Draining a run (the `drain` run option): once its signal aborts, no new step of the pipeline
// starts; the step in flight may finish and journal its end; then the run stops where it is,
// without a `run.finished`, so its journal keeps it `running` and any process resumes it.
import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import { visitKey } from "../contract/keys.ts"
import type { PipelineGraph } from "../definition/graph.ts"

/**
 * The error a drained run resolves with (never journaled: the run did not end).
 *
 * @example
 * drainedError("r1").message // "run r1 was drained: …"
 */
export const drainedError = (runId: string): RunError => ({
  _tag: "CancelledError",
  message: `run ${runId} was drained: it stopped at a step boundary and its journal keeps it running; resume it (in any process)`,
})

/**
 * The drain of one execution. `admit` is asked before each event is journaled; `halt` stops the
 * run's journal (and so the run) with the given error.
 *
 * @example
 * const drain = runDrain({ runId, graph, signal: runOptions.drain, halt: writer.halt })
 */
export const runDrain = (options: {
  readonly runId: string
  readonly graph: PipelineGraph
  readonly signal: AbortSignal | undefined
  readonly halt: (error: RunError) => void
}) => {
  const { runId, graph, signal, halt } = options
  const inFlight = new Set<string>()
  let draining = false
  const stop = () => halt(drainedError(runId))
  const onDrain = () => {
    draining = true
    if (inFlight.size === 0) stop()
  }
  return {
    /** Whether the event may be journaled: a step of the pipeline starting while the run drains may not (the run stops instead). */
    admit: (event: RunEvent): boolean => {
      const step = "step" in event && typeof event.step === "string" ? event.step : undefined
      if (step === undefined || !graph.steps.has(step)) return true
      const key = "visit" in event ? visitKey(step, event.visit) : step
      if (event.type === "step.started") {
        if (draining) {
          stop()
          return false
        }
        inFlight.add(key)
      } else if (event.type === "step.finished" || event.type === "step.failed") {
        inFlight.delete(key)
      } else if (event.type === "human.waiting" && draining) {
        // Journal the wait, then stop: a run kept waiting in memory would outlive its process.
        queueMicrotask(stop)
      }
      return true
    },
    /** The run is being cancelled: while it drains, that stops it without ending it. */
    beforeCancel: (): void => {
      if (draining) stop()
    },
    /** Starts listening to the drain signal; returns how to stop listening. */
    listen: (): (() => void) => {
      if (signal === undefined) return () => {}
      if (signal.aborted) onDrain()
      else signal.addEventListener("abort", onDrain, { once: true })
      return () => signal.removeEventListener("abort", onDrain)
    },
  }
}
