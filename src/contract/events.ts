import type { RunError } from "./errors.ts"
import type { Message, ToolCall, Usage } from "./model.ts"
/**
 * Tokens and dollars, summed over calls. `costUsd` counts only calls whose model has a price;
 * `unpricedCalls` says how many had none.
 *
 * @example
 * const total: UsageTotals = { inputTokens: 1200, outputTokens: 300, costUsd: 0.0021, calls: 3, unpricedCalls: 0 }
 */
export interface UsageTotals {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  readonly costUsd: number
  readonly calls: number
  readonly unpricedCalls: number
}

/**
 * A pipeline's graph as data: each step's kind and edges, in declaration order.
 *
 * @example
 * const structure: PipelineStructure = { steps: [{ name: "answer", kind: "llm", next: ["done"] }] }
 */
export interface PipelineStructure {
  readonly steps: ReadonlyArray<{
    readonly name: string
    readonly kind: string
    readonly next: readonly string[]
    readonly error?: string
    readonly timeout?: string
    readonly stopped?: string
    readonly stop?: readonly string[]
    /** A retrieve step's target when nothing relevant was found. */
    readonly empty?: string
    /** Agent steps: the names of their own stop rules, and their tools. */
    readonly agentStop?: readonly string[]
    readonly tools?: readonly string[]
    /** Agent steps: the tools whose approval has a deadline (past it the call is refused and the agent goes on). */
    readonly approvalTimeouts?: readonly string[]
  }>
}

/**
 * An agent's model call relative to the calls of the same step visit before it: the visit's
 * conversation is its first `from` messages as the latest earlier call of the visit had it, then
 * `added`; the model was sent all of it or, when the history was trimmed, the `sent` parts: index
 * ranges `[start, end)` of the conversation and messages of their own (a summary, say).
 *
 * @example
 * const secondTurn: ModelCallConversation = {
 *   from: 1,
 *   added: [
 *     { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "lookup", arguments: { id: "A-1" } }] },
 *     { role: "tool", toolCallId: "c1", name: "lookup", content: "shipped" },
 *   ],
 * }
 */
export interface ModelCallConversation {
  readonly from: number
  readonly added: readonly Message[]
  readonly sent?: ReadonlyArray<readonly [number, number] | Message>
}

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
  | {
      readonly type: "run.started"
      readonly runId: string
      readonly pipeline: string
      readonly input: unknown
      /** The pipeline's graph when the run started: a resume checks it has not changed. */
      readonly structure?: PipelineStructure
      /** A run made by `fork`: the run it was copied from, and the seq of the source's first event it did not copy. */
      readonly forkedFrom?: { readonly runId: string; readonly seq: number }
      readonly at: number
    }
  | { readonly type: "step.started"; readonly runId: string; readonly step: string; readonly visit: number; readonly at: number }
  | {
      readonly type: "step.retried"
      readonly runId: string
      readonly step: string
      readonly visit: number
      /** Agent steps: the model turn this belongs to. */
      readonly turn?: number
      readonly attempt: number
      readonly error: RunError
      readonly delayMs: number
      readonly at: number
    }
  | {
      /** A text chunk of a streaming model call. Delivered to listeners only, never journaled. */
      readonly type: "model.delta"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly text: string
      readonly at: number
    }
  | {
      /**
       * One model call: what was sent, what came back (or the error), tokens and time. Read a
       * journaled call's messages with `messagesOfCall` or `fullModelCalls`, never `messages` alone.
       */
      readonly type: "model.called"
      readonly runId: string
      readonly step: string
      readonly visit: number
      /** Agent steps: the model turn this belongs to. */
      readonly turn?: number
      readonly provider: string
      readonly model: string
      /**
       * The messages sent, in full. Listeners (`onEvent`, observers) always get them; a journal
       * leaves them out of a call that has `conversation` (an agent's turn), which says the same
       * in a form that grows with the conversation, not with its square.
       */
      readonly messages?: readonly Message[]
      /** Agent steps: this call's messages as the part of its visit's conversation that is new. */
      readonly conversation?: ModelCallConversation
      readonly response?: { readonly text: string; readonly toolCalls?: readonly ToolCall[]; readonly finishReason?: string }
      readonly error?: RunError
      readonly usage?: Usage
      readonly durationMs: number
      /** The answer came from the run's response cache (`modelCache`): no call was made, its usage is 0. */
      readonly cached?: boolean
      /** How long the call waited for a slot of its model's shared limits (`limits`) before it started. */
      readonly queuedMs?: number
      readonly at: number
    }
  | {
      /** One tool call: arguments, result (or the error) and time. */
      readonly type: "tool.called"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly tool: string
      /** Agent steps: the model's id of the call, and the turn that asked for it. */
      readonly callId?: string
      readonly turn?: number
      readonly args: unknown
      readonly result?: unknown
      readonly error?: RunError
      readonly durationMs: number
      readonly at: number
    }
  | {
      /** One model turn of an agent step: the answer (text and tool calls) a resume replays instead of asking again. */
      readonly type: "agent.turned"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly turn: number
      readonly text: string
      readonly toolCalls: readonly ToolCall[]
      readonly usage: UsageTotals
      /** Milliseconds since the agent step started, when the turn ended. */
      readonly elapsedMs: number
      readonly at: number
    }
  | {
      /** The model's answer failed the output schema; it is asked again with the issues. */
      readonly type: "model.repair"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly repair: number
      readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
      readonly at: number
    }
  | {
      readonly type: "model.fallback"
      readonly runId: string
      readonly step: string
      readonly visit: number
      /** Agent steps: the model turn this belongs to. */
      readonly turn?: number
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
      readonly usage?: UsageTotals
      /** An `llm` step with `thread`: the messages it adds to the run's thread when the run is done. */
      readonly thread?: readonly Message[]
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
      readonly usage?: UsageTotals
      readonly at: number
    }
  | {
      /** A `map` step computed its item list: how many, and a digest a resumed run must match. */
      readonly type: "map.listed"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly count: number
      readonly fingerprint: string
      readonly at: number
    }
  | { readonly type: "route.taken"; readonly runId: string; readonly from: string; readonly to: string; readonly at: number }
  | {
      readonly type: "human.waiting"
      readonly runId: string
      readonly step: string
      readonly visit: number
      readonly prompt?: string
      readonly deadline?: number
      readonly at: number
    }
  | { readonly type: "human.decided"; readonly runId: string; readonly step: string; readonly visit: number; readonly decision: unknown; readonly at: number }
  | { readonly type: "human.expired"; readonly runId: string; readonly step: string; readonly visit: number; readonly at: number }
  | {
      /** The run's thread as loaded at its start: a resumed run reads this, not the store. */
      readonly type: "thread.loaded"
      readonly runId: string
      readonly threadId: string
      readonly messages: readonly Message[]
      readonly facts: Readonly<Record<string, unknown>>
      readonly at: number
    }
  | {
      /** The run's messages and facts were appended to its thread (the run finished done). */
      readonly type: "thread.saved"
      readonly runId: string
      readonly threadId: string
      readonly messages: number
      readonly facts: readonly string[]
      readonly at: number
    }
  | {
      /**
       * `retry` continues this failed or cancelled run: the visits in `steps` (`step#visit`) run
       * again as new attempts, and so does whatever inside them (a branch, a map item) had not
       * finished; everything else comes from the journal. The earlier attempts stay in the journal.
       */
      readonly type: "run.retried"
      readonly runId: string
      readonly steps: readonly string[]
      /** Which retry of the run this is, from 1. */
      readonly retry: number
      readonly at: number
    }
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
