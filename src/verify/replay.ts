import { ModelError, type ModelErrorReason, type RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { JournalEntry } from "../contract/journal.ts"
import type { Message, Model, ModelRequest, ModelResponse, Models } from "../contract/model.ts"
import { type FullModelCall, fullModelCalls } from "../contract/model-calls.ts"
import type { Pipeline } from "../run/create-runner.ts"
import type { RunResult } from "../run/result.ts"
import type { EvalRow } from "./evaluate/dataset.ts"
import { driveRun, type HumanReply } from "./evaluate/drive-run.ts"
import { type JournaledVisit, pathOf, visitsOf } from "./evaluate/run-journal.ts"
import { stableJson } from "./evaluate/stable-json.ts"

// Each recorded call with its full messages (an agent's journaled calls hold only what is new).
type RecordedCall = FullModelCall<JournalEntry>

/** A replayed request that did not match the recording: the step's prompt (or its input) changed. */
export interface RequestMismatch {
  readonly step: string
  readonly visit: number
  readonly expected: readonly Message[]
  readonly actual: readonly Message[]
}

/**
 * A model that answers from a run's journal. Each request gets the recorded response of the
 * first unused recorded call with the same messages, so aliases, fallbacks and call order do not
 * matter. Told which step is running (pass {@link ReplayModel.observe} as a run observer, as
 * {@link replay} does), a request whose messages changed still gets the response recorded for
 * that step visit, in order, and is listed in `mismatches`; otherwise it fails `invalid-request`.
 * Failures followed by a success for the same request are skipped (a replay waits for no
 * backoff); failures that ended a step are thrown again.
 *
 * @example
 * const model = replayModel(await journal.read(runId))
 * await triage.run(input, { models: { fast: model }, observers: [model.observe] })
 */
export interface ReplayModel extends Model {
  readonly observe: (event: RunEvent) => void
  readonly mismatches: readonly RequestMismatch[]
  /** Recorded calls not answered yet. */
  readonly remaining: number
}

/**
 * Builds a {@link ReplayModel} from a run's journal entries.
 *
 * @example
 * const model = replayModel(entries)
 */
export const replayModel = (entries: readonly JournalEntry[]): ReplayModel => {
  const ordered = [...entries].sort((left, right) => left.seq - right.seq)
  const recorded: readonly RecordedCall[] = fullModelCalls(ordered)
  const key = (messages: readonly Message[]) => stableJson(messages)
  // A failure that a later call of the same visit answered was retried: the replay skips it.
  const calls = recorded.filter(
    (call, index) =>
      call.error === undefined ||
      !recorded
        .slice(index + 1)
        .some((later) => later.step === call.step && later.visit === call.visit && later.error === undefined && key(later.messages) === key(call.messages)),
  )
  const used = new Set<number>()
  const mismatches: RequestMismatch[] = []
  let current: { step: string; visit: number } | undefined
  const answer = (call: RecordedCall): ModelResponse => {
    if (call.error !== undefined || call.response === undefined) throw replayedError(call.error)
    return {
      text: call.response.text,
      ...(call.response.toolCalls === undefined ? {} : { toolCalls: call.response.toolCalls }),
      ...(call.response.finishReason === undefined ? {} : { finishReason: call.response.finishReason }),
      ...(call.usage === undefined ? {} : { usage: call.usage }),
    }
  }
  return {
    provider: "replay",
    model: "recorded",
    mismatches,
    get remaining() {
      return calls.length - used.size
    },
    observe: (event) => {
      if (event.type === "step.started") current = { step: event.step, visit: event.visit }
    },
    generate: async (request: ModelRequest) => {
      const open = calls.flatMap((call, index) => (used.has(index) ? [] : [{ call, index }]))
      const here = current === undefined ? open : open.filter(({ call }) => call.step === current?.step && call.visit === current.visit)
      const wanted = key(request.messages)
      const same =
        here.find(({ call }) => key(call.messages) === wanted) ?? (current === undefined ? undefined : open.find(({ call }) => key(call.messages) === wanted))
      if (same !== undefined) {
        used.add(same.index)
        return answer(same.call)
      }
      const next = current === undefined ? undefined : here[0]
      if (next === undefined) {
        const where = current === undefined ? "" : ` in step "${current.step}" (visit ${current.visit})`
        throw new ModelError({
          provider: "replay",
          model: "recorded",
          reason: "invalid-request",
          retryable: false,
          message: `replay: no recorded model call matches this request${where}`,
        })
      }
      used.add(next.index)
      mismatches.push({ step: next.call.step, visit: next.call.visit, expected: next.call.messages, actual: request.messages })
      return answer(next.call)
    },
  }
}

const replayedError = (error: RunError | undefined): ModelError =>
  new ModelError({
    provider: "replay",
    model: "recorded",
    reason: error !== undefined && "reason" in error ? (error.reason as ModelErrorReason) : "unknown",
    retryable: error !== undefined && "retryable" in error ? error.retryable === true : false,
    message: `replayed failure: ${error?.message ?? "no response was recorded"}`,
  })

/**
 * Models for a replayed run: every alias answers with one {@link ReplayModel} over `entries`
 * (aliases in `overrides` use the given model instead, e.g. a real one to re-run a step live).
 *
 * @example
 * await triage.run(input, { models: replayModels(entries) })
 */
export const replayModels = (entries: readonly JournalEntry[] | ReplayModel, overrides: Models = {}): Models => {
  const model = "generate" in entries ? entries : replayModel(entries)
  return new Proxy(
    { ...overrides },
    {
      get: (target, alias) => (typeof alias === "string" && Object.hasOwn(target, alias) ? target[alias] : typeof alias === "string" ? model : undefined),
      has: () => true,
    },
  )
}

/**
 * Where a replay first differs from the recording. `request`: the step asked its model
 * something else (its prompt or input changed); `output`: the step produced another output (or
 * failed where it had succeeded); `route`: same output, another next state; `missing-step`: the
 * recording ran a step the replay did not reach; `extra-step`: the replay ran a step the
 * recording did not.
 *
 * @example
 * const line = (divergence: Divergence) => `${divergence.step}#${divergence.visit}: ${divergence.kind}`
 */
export interface Divergence {
  readonly step: string
  readonly visit: number
  readonly kind: "request" | "output" | "route" | "missing-step" | "extra-step"
  readonly expected: unknown
  readonly actual: unknown
  readonly message: string
}

/** The outcome of {@link replay}. */
export interface ReplayReport {
  readonly identical: boolean
  /** The first step visit that differs (absent when identical). */
  readonly divergence?: Divergence
  /** The replayed run's result and journal. */
  readonly result: RunResult<Record<string, unknown>>
  readonly entries: readonly JournalEntry[]
  /** Every request that differed from the recording, in order. */
  readonly mismatches: readonly RequestMismatch[]
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** Aliases to run on these models instead of the recording (the rest still replay). */
  readonly models?: Models
  /** The replayed run's id (default: the recorded one, so tools keyed by idempotency key see the same keys). */
  readonly runId?: string
}

/**
 * Runs a pipeline again, offline, on a recorded run's input: model steps answer from the
 * recording, human steps get the recorded decisions and expiries, and the new journal is
 * compared step by step with the recorded one. Tool and `fn` steps run their real code (a replay
 * uses the recorded run id, so tools that deduplicate by idempotency key see the same keys);
 * give tools with side effects a sandbox when replaying.
 *
 * @example
 * const report = await replay(triage, await journal.read(runId))
 * if (!report.identical) console.log(report.divergence?.message)
 */
export const replay = async <TInput, TSteps>(
  pipeline: Pipeline<TInput, TSteps>,
  entries: readonly JournalEntry[],
  options: ReplayOptions = {},
): Promise<ReplayReport> => {
  const started = entries.find((entry) => entry.type === "run.started")
  if (started?.type !== "run.started") throw new TypeError("replay: the entries hold no run.started event (pass every entry of one run's journal)")
  const model = replayModel(entries)
  const recorded = visitsOf(entries)
  // The n-th pause of a visit gets the n-th recorded answer: one for a human step, one per tool call an agent asked approval for.
  const answers = pauseAnswersOf(entries)
  const asked = new Map<string, number>()
  const human = (step: string, visit: number): HumanReply => {
    const key = `${step}#${visit}`
    const ordinal = asked.get(key) ?? 0
    asked.set(key, ordinal + 1)
    return answers.get(key)?.[ordinal]
  }
  const { result, entries: replayed } = await driveRun(pipeline as unknown as Pipeline<unknown, Record<string, unknown>>, started.input, {
    models: replayModels(model, options.models),
    runId: options.runId ?? started.runId,
    observers: [model.observe],
    human,
  })
  const divergence = firstDivergence(recorded, visitsOf(replayed), model.mismatches)
  return { identical: divergence === undefined, ...(divergence === undefined ? {} : { divergence }), result, entries: replayed, mismatches: model.mismatches }
}

// Every recorded answer to a pause, by `step#visit`, in order: decisions and expiries.
const pauseAnswersOf = (entries: readonly JournalEntry[]): ReadonlyMap<string, HumanReply[]> => {
  const answers = new Map<string, HumanReply[]>()
  for (const entry of [...entries].sort((left, right) => left.seq - right.seq)) {
    if (entry.type !== "human.decided" && entry.type !== "human.expired") continue
    const key = `${entry.step}#${entry.visit}`
    const list = answers.get(key) ?? []
    list.push(entry.type === "human.decided" ? { decision: entry.decision } : { expire: true })
    answers.set(key, list)
  }
  return answers
}

const firstDivergence = (
  expected: readonly JournaledVisit[],
  actual: readonly JournaledVisit[],
  mismatches: readonly RequestMismatch[],
): Divergence | undefined => {
  for (let index = 0; index < Math.max(expected.length, actual.length); index++) {
    const before = expected[index]
    const now = actual[index]
    if (before === undefined && now !== undefined) {
      return {
        step: now.step,
        visit: now.visit,
        kind: "extra-step",
        expected: undefined,
        actual: outcomeOf(now),
        message: `the replay ran step "${now.step}" (visit ${now.visit}), which the recording did not reach`,
      }
    }
    if (now === undefined && before !== undefined) {
      return {
        step: before.step,
        visit: before.visit,
        kind: "missing-step",
        expected: outcomeOf(before),
        actual: undefined,
        message: `the recording ran step "${before.step}" (visit ${before.visit}); the replay ended before it`,
      }
    }
    if (before === undefined || now === undefined) return undefined
    if (before.step !== now.step) {
      const added = !expected.some((visit) => visit.step === now.step)
      return added
        ? {
            step: now.step,
            visit: now.visit,
            kind: "extra-step",
            expected: before.step,
            actual: now.step,
            message: `the replay ran step "${now.step}" where the recording ran "${before.step}"`,
          }
        : {
            step: before.step,
            visit: before.visit,
            kind: "missing-step",
            expected: before.step,
            actual: now.step,
            message: `the recording ran step "${before.step}" here; the replay ran "${now.step}"`,
          }
    }
    const mismatch = mismatches.find((candidate) => candidate.step === now.step && candidate.visit === now.visit)
    if (mismatch !== undefined) {
      return {
        step: now.step,
        visit: now.visit,
        kind: "request",
        expected: mismatch.expected,
        actual: mismatch.actual,
        message: `step "${now.step}" (visit ${now.visit}) sent its model other messages than recorded: ${firstDifference(mismatch)}`,
      }
    }
    if (before.outcome !== now.outcome || stableJson(before.output) !== stableJson(now.output) || before.error?.message !== now.error?.message) {
      return {
        step: now.step,
        visit: now.visit,
        kind: "output",
        expected: outcomeOf(before),
        actual: outcomeOf(now),
        message: `step "${now.step}" (visit ${now.visit}) ${describeOutcome(before)} in the recording, ${describeOutcome(now)} in the replay`,
      }
    }
    if (before.next !== now.next) {
      return {
        step: now.step,
        visit: now.visit,
        kind: "route",
        expected: before.next,
        actual: now.next,
        message: `step "${now.step}" (visit ${now.visit}) went to "${before.next ?? "(nowhere)"}" in the recording, to "${now.next ?? "(nowhere)"}" in the replay`,
      }
    }
  }
  return undefined
}

const outcomeOf = (visit: JournaledVisit) => ({
  outcome: visit.outcome,
  ...(visit.output === undefined ? {} : { output: visit.output }),
  ...(visit.error === undefined ? {} : { error: visit.error.message }),
})

const describeOutcome = (visit: JournaledVisit): string =>
  visit.outcome === "failed"
    ? `failed (${visit.error?.message ?? "unknown error"})`
    : visit.outcome === "finished" || visit.outcome === "decided"
      ? `gave ${clip(stableJson(visit.output))}`
      : `was ${visit.outcome}`

const firstDifference = ({ expected, actual }: RequestMismatch): string => {
  const index =
    Array.from({ length: Math.max(expected.length, actual.length) }, (_, position) => position).find(
      (position) => stableJson(expected[position]) !== stableJson(actual[position]),
    ) ?? 0
  const role = expected[index]?.role ?? actual[index]?.role ?? "message"
  return `${role} message ${index + 1} was ${clip(JSON.stringify(contentOf(expected[index])))}, is ${clip(JSON.stringify(contentOf(actual[index])))}`
}

const contentOf = (message: Message | undefined) => (message === undefined ? null : message.content)
const clip = (text: string | undefined, limit = 120) => (text === undefined ? "undefined" : text.length > limit ? `${text.slice(0, limit)}…` : text)

/**
 * Turns a recorded run into an evaluation row: its input, the final output as the expected
 * value, the steps it went through as the expected path, and its human decisions.
 *
 * @example
 * const row = toEvalRow(await journal.read(runId)) // { input, expected, expectPath: ["classify", "answer"] }
 */
export const toEvalRow = (entries: readonly JournalEntry[]): EvalRow => {
  const started = entries.find((entry) => entry.type === "run.started")
  if (started?.type !== "run.started") throw new TypeError("toEvalRow: the entries hold no run.started event")
  const visits = visitsOf(entries)
  const last = [...visits].reverse().find((visit) => visit.next === "done")
  // A human step's decision, and an agent's first approval decision (a row gives one per step, applied at every pause).
  const decisions: Record<string, unknown> = {}
  for (const entry of [...entries].sort((left, right) => left.seq - right.seq)) {
    if (entry.type === "human.decided" && entry.visit === 1 && !(entry.step in decisions)) decisions[entry.step] = entry.decision
  }
  const expire = [...new Set(visits.filter((visit) => visit.outcome === "expired").map((visit) => visit.step))]
  return {
    input: started.input,
    ...(last === undefined ? {} : { expected: last.output }),
    expectPath: pathOf(entries),
    ...(Object.keys(decisions).length === 0 ? {} : { decisions }),
    ...(expire.length === 0 ? {} : { expire }),
    metadata: { runId: started.runId },
  }
}
