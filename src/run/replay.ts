import type { StepDone } from "../compile/run-context.ts"
import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { JournalEntry } from "../contract/journal.ts"
import { visitKey } from "../contract/keys.ts"
import { type ThreadReplay, threadReplayOf } from "./thread-session.ts"

/**
 * What a journal says already happened in a run, keyed by `step#visit`: a resumed run takes
 * finished steps, decisions and expired deadlines from here instead of doing them again.
 */
export interface Replay {
  readonly steps: ReadonlyMap<string, { readonly done: StepDone } | { readonly error: RunError }>
  readonly decisions: ReadonlyMap<string, unknown>
  readonly expired: ReadonlySet<string>
  /** Deadlines of waits, by `step#visit`, and of each approval pause of an agent by `step#visit#n`. */
  readonly deadlines: ReadonlyMap<string, number>
  /** Events already journaled, counted by {@link eventKey}: a replay that produces them again does not append them twice. */
  readonly journaled: Map<string, number>
  /** The run's thread as journaled (loaded, messages added by finished steps, saved or not). */
  readonly thread?: ThreadReplay
  /** Item lists `map` steps journaled, by `step#visit`: a resumed map must compute the same list. */
  readonly lists?: ReadonlyMap<string, { readonly count: number; readonly fingerprint: string }>
  /** Agent model turns, by `step#visit#turn`. */
  readonly turns?: ReadonlyMap<string, Extract<RunEvent, { type: "agent.turned" }>>
  /**
   * Agent visits, by `step#visit`: how many messages of the visit's conversation its journaled
   * model calls hold (0 when they predate linear journaling). A resumed agent's first call
   * journals the rest of its conversation from there.
   */
  readonly conversations?: ReadonlyMap<string, number>
  /** Agent tool calls that finished, by `step#visit#turn#callId`. */
  readonly toolResults?: ReadonlyMap<string, { readonly result: unknown } | { readonly error: RunError }>
  /** Decisions in the order they were given within a visit, by `step#visit#n` (n from 0): an agent asks for several. */
  readonly approvals?: ReadonlyMap<string, unknown>
  /** Approval pauses that ended at their deadline, by `step#visit#n` (numbered with the decisions). */
  readonly expiredApprovals?: ReadonlySet<string>
  /** Every journaled wait, by `step#visit#n`: an agent's approval pause that the journal already holds. */
  readonly waits?: ReadonlySet<string>
}

/**
 * What makes two events "the same" for replay: a replay produces the same events in the same
 * order up to where the run stopped, so counting keys is enough to skip those already written.
 */
export const eventKey = (event: RunEvent): string => {
  switch (event.type) {
    case "route.taken":
      return `${event.type}|${event.from}|${event.to}`
    case "step.retried":
      return `${event.type}|${event.step}#${event.visit}|${event.attempt}${event.turn === undefined ? "" : `|${event.turn}`}`
    case "model.repair":
      return `${event.type}|${event.step}#${event.visit}|${event.repair}`
    case "model.fallback":
      return `${event.type}|${event.step}#${event.visit}|${event.to}${event.turn === undefined ? "" : `|${event.turn}`}`
    case "model.called":
      // An agent's turns each call the model: a resumed run's new turns are not the journaled ones.
      return `${event.type}|${event.step}#${event.visit}${event.turn === undefined ? "" : `|${event.turn}`}`
    case "agent.turned":
      return `${event.type}|${event.step}#${event.visit}|${event.turn}`
    case "tool.called":
      return event.callId === undefined ? `${event.type}|${event.step}#${event.visit}` : `${event.type}|${event.step}#${event.visit}|${event.callId}`
    case "run.started":
    case "run.finished":
    case "thread.loaded":
    case "thread.saved":
      return event.type
    case "run.retried":
      return `${event.type}|${event.retry}`
    case "model.delta":
      // Never journaled, never deduplicated.
      return `${event.type}|${event.step}#${event.visit}|${event.at}`
    default:
      return `${event.type}|${event.step}#${event.visit}`
  }
}

/** Reads a run's journal into a {@link Replay}. */
export const buildReplay = (entries: readonly JournalEntry[]): Replay => {
  const steps = new Map<string, { done: StepDone } | { error: RunError }>()
  const decisions = new Map<string, unknown>()
  const expired = new Set<string>()
  const deadlines = new Map<string, number>()
  const journaled = new Map<string, number>()
  const lists = new Map<string, { count: number; fingerprint: string }>()
  const turns = new Map<string, Extract<RunEvent, { type: "agent.turned" }>>()
  const conversations = new Map<string, number>()
  const toolResults = new Map<string, { result: unknown } | { error: RunError }>()
  const approvals = new Map<string, unknown>()
  const expiredApprovals = new Set<string>()
  const waits = new Set<string>()
  // Pauses ended so far in each visit (decided or expired): numbers an agent's approval pauses.
  const decidedIn = new Map<string, number>()
  for (const entry of entries) {
    const key = eventKey(entry)
    journaled.set(key, (journaled.get(key) ?? 0) + 1)
    switch (entry.type) {
      case "step.finished":
        steps.set(visitKey(entry.step, entry.visit), { done: { output: entry.output, next: entry.next } })
        break
      case "step.failed":
        // A step cancelled under a dying run did not really fail: run it again.
        if (entry.error._tag !== "CancelledError") steps.set(visitKey(entry.step, entry.visit), { error: entry.error })
        break
      case "human.decided": {
        const key = visitKey(entry.step, entry.visit)
        decisions.set(key, entry.decision)
        const ordinal = decidedIn.get(key) ?? 0
        approvals.set(`${key}#${ordinal}`, entry.decision)
        decidedIn.set(key, ordinal + 1)
        break
      }
      case "agent.turned":
        turns.set(`${visitKey(entry.step, entry.visit)}#${entry.turn}`, entry)
        break
      case "model.called":
        if (entry.turn !== undefined) {
          const described = entry.conversation
          conversations.set(visitKey(entry.step, entry.visit), described === undefined ? 0 : described.from + described.added.length)
        }
        break
      case "tool.called":
        // A call cut short by a dying run did not really fail: run it again.
        if (entry.callId !== undefined && entry.error?._tag !== "CancelledError") {
          toolResults.set(
            `${visitKey(entry.step, entry.visit)}#${entry.turn ?? 0}#${entry.callId}`,
            entry.error === undefined ? { result: entry.result } : { error: entry.error },
          )
        }
        break
      case "human.expired": {
        const key = visitKey(entry.step, entry.visit)
        expired.add(key)
        const ordinal = decidedIn.get(key) ?? 0
        expiredApprovals.add(`${key}#${ordinal}`)
        decidedIn.set(key, ordinal + 1)
        break
      }
      case "map.listed":
        lists.set(visitKey(entry.step, entry.visit), { count: entry.count, fingerprint: entry.fingerprint })
        break
      case "human.waiting": {
        const key = visitKey(entry.step, entry.visit)
        waits.add(`${key}#${decidedIn.get(key) ?? 0}`)
        if (entry.deadline !== undefined) {
          deadlines.set(key, entry.deadline)
          deadlines.set(`${key}#${decidedIn.get(key) ?? 0}`, entry.deadline)
        }
        break
      }
    }
  }
  return {
    steps,
    decisions,
    expired,
    deadlines,
    journaled,
    thread: threadReplayOf(entries),
    lists,
    turns,
    conversations,
    toolResults,
    approvals,
    expiredApprovals,
    waits,
  }
}
