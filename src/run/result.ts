import type { z } from "zod"
import type { MachineOutput } from "../compile/run-context.ts"
import type { RunError } from "../contract/errors.ts"
import type { RunEvent, UsageTotals } from "../contract/events.ts"
import { jsonIssue } from "./json-values.ts"

interface ResultBase<TSteps> {
  readonly runId: string
  /** Every step output so far (the latest of each step). */
  readonly steps: Partial<TSteps>
  readonly durationMs: number
  /** Tokens and cost of every model call of the run so far. */
  readonly usage: UsageTotals
}

/** A finished run: the output of the step that routed to `done`, typed by that step. */
export type DoneResult<TSteps> = {
  readonly [TStep in keyof TSteps]: ResultBase<TSteps> & {
    readonly status: "done"
    readonly step: TStep
    readonly output: TSteps[TStep]
    /** Set when a stop rule fired and its `stopped` edge led the run to done. */
    readonly stoppedBy?: { readonly step: string; readonly rule: string }
  }
}[keyof TSteps]

/**
 * How a run ended (or paused). A tagged union: `switch (result.status)`; `run()` never throws.
 *
 * @example
 * const describe = (result: RunResult<{ answer: string }>) =>
 *   result.status === "done" ? result.output
 *   : result.status === "failed" ? result.error.message
 *   : result.status === "stopped" ? `stopped by ${result.stoppedBy.rule}`
 *   : `waiting for ${result.step}`
 */
export type RunResult<TSteps> =
  | DoneResult<TSteps>
  | (ResultBase<TSteps> & { readonly status: "failed"; readonly error: RunError })
  | (ResultBase<TSteps> & { readonly status: "stopped"; readonly stoppedBy: { readonly step: string; readonly rule: string } })
  | (ResultBase<TSteps> & {
      readonly status: "awaiting-human"
      readonly step: keyof TSteps & string
      readonly prompt?: string
      /** Epoch milliseconds after which the step's timeout route applies; null without a timeout. */
      readonly deadline: number | null
      /**
       * Every decision the run waits for, each by its address: the step itself at the top level,
       * a branch (`brief.legal`), a map item (`refunds[2]`), a nested pipeline's step
       * (`orders[1].approve`). `step`, `prompt` and `deadline` above are those of the one due first.
       * Every run sets it; optional only so results built by hand (tests, fakes) stay valid.
       */
      readonly pending?: readonly PendingDecision[]
    })

/**
 * One decision a paused run waits for: decide it with `p.decide(runId, path, decision, options)`
 * (or several at once with `p.decide(runId, { [path]: decision }, options)`).
 *
 * @example
 * for (const wait of result.pending) console.log(wait.path, wait.prompt, JSON.stringify(wait.decision))
 */
export interface PendingDecision {
  /** The address of the wait: its journaled name (`refunds[2]`, `brief.legal`, `review`). */
  readonly path: string
  /** The pipeline's own step the wait is inside (`refunds` for `refunds[2]`). */
  readonly step: string
  /** Which visit of the waiting step this is (1 unless a loop came back). */
  readonly visit: number
  readonly prompt?: string
  /** Epoch milliseconds after which the wait's timeout route applies; null without a timeout. */
  readonly deadline: number | null
  /** The JSON Schema of the decision expected. */
  readonly decision: Readonly<Record<string, unknown>>
}

/**
 * The pipeline's own step an address is inside: `refunds[2]` and `refunds#2.check` are in `refunds`.
 *
 * @example
 * topStepOf("brief.legal") // "brief"
 */
export const topStepOf = (path: string): string => /^[^.[#]*/.exec(path)?.[0] ?? path

/** Maps the machine's final output to a run result. */
export const toRunResult = (runId: string, output: MachineOutput, durationMs: number, usage: UsageTotals): RunResult<Record<string, unknown>> => {
  const base = { runId, steps: output.steps, durationMs, usage }
  if (output.status === "done") {
    const done = { ...base, status: "done" as const, step: output.last ?? "", output: output.last === null ? undefined : output.steps[output.last] }
    return output.stoppedBy === null ? done : { ...done, stoppedBy: output.stoppedBy }
  }
  if (output.status === "stopped") return { ...base, status: "stopped", stoppedBy: output.stoppedBy ?? { step: "", rule: "stop" } }
  return { ...base, status: "failed", error: output.error ?? { _tag: "StepCodeError", step: output.last ?? "", retryable: false, message: "run failed" } }
}

/** Validates run input, naming every wrong field. */
export const validateInput = <TInput>(
  schema: z.ZodType<TInput>,
  input: unknown,
): { readonly success: true; readonly data: TInput } | { readonly success: false; readonly error: RunError } => {
  const parsed = schema.safeParse(input)
  if (parsed.success) {
    // The journal keeps the input as given and the run reads it as parsed: both must stay as they are.
    const issue = jsonIssue(input) ?? jsonIssue(parsed.data)
    if (issue === undefined) return { success: true, data: parsed.data }
    return { success: false, error: { _tag: "InputValidationError", issues: [issue], message: `invalid run input: ${issue.path}: ${issue.message}` } }
  }
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message }))
  return {
    success: false,
    error: { _tag: "InputValidationError", issues, message: `invalid run input: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}` },
  }
}

/**
 * A human decision that cannot be delivered: unknown run, not waiting on that step, not a human
 * step, a decision that fails the step's schema, or one that came after the wait's deadline
 * (`late`: the timeout route applies instead, or already has). The run is unchanged.
 *
 * @example
 * try { handle.send("review", decision) } catch (error) { if (error instanceof DecisionError && error.reason === "late") console.error(error.message) }
 */
export class DecisionError extends Error {
  override readonly name = "DecisionError"
  readonly reason: "unknown-run" | "not-waiting" | "not-human-step" | "invalid-decision" | "late"
  readonly issues: ReadonlyArray<{ readonly path: string; readonly message: string }>
  constructor(reason: DecisionError["reason"], message: string, issues: DecisionError["issues"] = []) {
    super(issues.length === 0 ? message : `${message}: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`)
    this.reason = reason
    this.issues = issues
  }
}

/** A replayable async stream of run events: every iterator starts from the first event. */
export class EventStream implements AsyncIterable<RunEvent> {
  readonly #events: RunEvent[] = []
  readonly #waiters = new Set<() => void>()
  #closed = false

  push(event: RunEvent): void {
    this.#events.push(event)
    this.#wake()
  }

  close(): void {
    this.#closed = true
    this.#wake()
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter()
    this.#waiters.clear()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RunEvent> {
    let index = 0
    while (true) {
      while (index < this.#events.length) yield this.#events[index++] as RunEvent
      if (this.#closed) return
      await new Promise<void>((resolve) => this.#waiters.add(resolve))
    }
  }
}
