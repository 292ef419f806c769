import type { RunError } from "../errors.ts"
import type { Usage } from "../models/model.ts"

/** Status of a run. */
export type RunStatus = "running" | "awaiting-human" | "done" | "failed" | "stopped"

/**
 * Everything that happens in a run, in order. Every event is appended to the run's journal and
 * yielded by the handle's event stream. `at` is epoch milliseconds.
 *
 * @example
 * for await (const event of handle.events) if (event.type === "step.finished") console.log(event.step, event.durationMs)
 */
export type RunEvent =
  | { readonly type: "run.started"; readonly runId: string; readonly pipeline: string; readonly input: unknown; readonly at: number }
  | { readonly type: "step.started"; readonly runId: string; readonly step: string; readonly visit: number; readonly at: number }
  | {
      readonly type: "step.retried"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly attempt: number
      readonly error: RunError
      readonly delayMs: number
      readonly at: number
    }
  | {
      readonly type: "model.fallback"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly from: string
      readonly to: string
      readonly error: RunError
      readonly at: number
    }
  | {
      readonly type: "step.finished"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly output: unknown
      readonly next: string
      readonly attempts: number
      readonly durationMs: number
      readonly usage?: Usage
      readonly at: number
    }
  | {
      readonly type: "step.failed"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly error: RunError
      readonly attempts: number
      readonly durationMs: number
      readonly at: number
    }
  | { readonly type: "route.taken"; readonly runId: string; readonly from: string; readonly to: string; readonly at: number }
  | {
      readonly type: "human.waiting"
      readonly runId: string
      readonly step: string
      readonly prompt?: string
      readonly deadline?: number
      readonly at: number
    }
  | { readonly type: "human.decided"; readonly runId: string; readonly step: string; readonly decision: unknown; readonly at: number }
  | {
      readonly type: "run.finished"
      readonly runId: string
      readonly status: Exclude<RunStatus, "running">
      readonly durationMs: number
      readonly error?: RunError
      readonly stoppedBy?: { readonly step: string; readonly rule: string }
      readonly at: number
    }

/** The event type names, e.g. `"step.finished"`. */
export type RunEventType = RunEvent["type"]
