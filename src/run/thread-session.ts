import type { RunError } from "../contract/errors.ts"
import type { RunEvent } from "../contract/events.ts"
import type { JournalEntry } from "../contract/journal.ts"
import type { Message } from "../contract/model.ts"
import { checkThreadId, noThread, type Thread, type ThreadStore } from "../contract/thread.ts"
import { isFactsStep } from "../definition/steps/remember-facts.ts"
import type { AnyStep, LlmStep, StepContext } from "../definition/steps/step.ts"

/**
 * What a journal says about a run's thread: the thread as it was loaded (a resumed run sees the
 * same one, whatever the store holds now) and the messages its finished steps added so far.
 */
export interface ThreadReplay {
  readonly loaded: Thread | undefined
  readonly messages: readonly Message[]
  readonly saved: boolean
}

/** Reads the thread events of a run's journal. */
export const threadReplayOf = (entries: readonly JournalEntry[]): ThreadReplay => {
  let loaded: Thread | undefined
  let saved = false
  const messages: Message[] = []
  for (const entry of entries) {
    if (entry.type === "thread.loaded") loaded = { id: entry.threadId, messages: entry.messages, facts: entry.facts }
    else if (entry.type === "thread.saved") saved = true
    else if (entry.type === "step.finished" && entry.thread !== undefined) messages.push(...entry.thread)
  }
  return { loaded, messages, saved }
}

/** A run's thread from start to save: loaded (or replayed), read by steps, saved when the run is done. */
export interface ThreadSession {
  /** The thread steps read as `ctx.thread` (empty before loading and for runs without one). */
  readonly current: () => Thread
  /** Loads the thread from the store and journals it, or takes it from the journal of a resumed run. */
  readonly load: (record: (event: RunEvent) => void | Promise<void>) => Promise<RunError | undefined>
  /** Notes the messages a finished step adds. */
  readonly collect: (messages: readonly Message[]) => void
  /** Appends this run's messages and facts to the store (once per run id) and journals it. */
  readonly save: (steps: Readonly<Record<string, unknown>>, record: (event: RunEvent) => void | Promise<void>) => Promise<RunError | undefined>
}

/** The thread session of a run, or undefined when the run has no thread (and its journal none). */
export const threadSession = (
  runId: string,
  options: { readonly threadId?: string; readonly threads?: ThreadStore },
  graphSteps: ReadonlyMap<string, AnyStep>,
  replay: ThreadReplay | undefined,
): ThreadSession | undefined => {
  const threadId = replay?.loaded?.id ?? options.threadId
  if (threadId === undefined || threadId === null) return undefined
  let invalid: string | undefined
  try {
    checkThreadId(threadId, "run options")
  } catch (error) {
    invalid = (error as Error).message
  }
  let thread: Thread = replay?.loaded ?? noThread
  const messages: Message[] = [...(replay?.messages ?? [])]
  const failure = (message: string): RunError => ({ _tag: "ThreadError", threadId: String(threadId), message })
  return {
    current: () => thread,
    load: async (record) => {
      if (replay?.loaded !== undefined) return undefined
      if (invalid !== undefined) return failure(invalid)
      if (options.threads === undefined)
        return failure(`run options: threadId "${threadId}" needs a thread store (threads: memoryThreadStore() or sqliteThreadStore(path))`)
      try {
        const loaded = await options.threads.load(threadId)
        thread = { id: threadId, messages: [...loaded.messages], facts: { ...loaded.facts } }
      } catch (error) {
        return failure(`could not load thread "${threadId}": ${error instanceof Error ? error.message : String(error)}`)
      }
      await record({ type: "thread.loaded", runId, threadId, messages: thread.messages, facts: thread.facts, at: Date.now() })
      return undefined
    },
    collect: (added) => {
      messages.push(...added)
    },
    save: async (steps, record) => {
      if (replay?.saved === true) return undefined
      if (options.threads === undefined)
        return failure(`thread "${threadId}" cannot be saved: pass the thread store as threads in the options of resume/decide`)
      const facts: Record<string, unknown> = {}
      for (const [name, step] of graphSteps) {
        if (!isFactsStep(step) || !Object.hasOwn(steps, name)) continue
        const output = steps[name]
        if (typeof output !== "object" || output === null || Array.isArray(output)) {
          return failure(
            `step "${name}" (rememberFacts) returned ${Array.isArray(output) ? "an array" : output === null ? "null" : typeof output}, expected an object of facts`,
          )
        }
        // An undefined fact leaves the thread's value as it is.
        for (const [key, value] of Object.entries(output)) if (value !== undefined) facts[key] = value
      }
      try {
        await options.threads.append(threadId, { runId, messages, facts })
      } catch (error) {
        return failure(`could not save thread "${threadId}" (resume the run to save it again): ${error instanceof Error ? error.message : String(error)}`)
      }
      await record({ type: "thread.saved", runId, threadId, messages: messages.length, facts: Object.keys(facts), at: Date.now() })
      return undefined
    },
  }
}

/** The thread messages an `llm` step with `thread` sends before its prompt. */
export const threadMessagesFor = (step: LlmStep<unknown, unknown>, context: StepContext<unknown, Record<string, unknown>>): readonly Message[] => {
  if (step.thread === undefined || step.thread === false) return []
  const messages = context.thread.messages
  return step.thread === true ? messages : messages.slice(Math.max(0, messages.length - step.thread.lastMessages))
}

/**
 * What an `llm` step with `thread` adds to the thread: its prompt's user messages (not the system
 * prompt, not the thread it was sent) and the answer (an object answer as JSON).
 */
export const threadExchangeOf = (step: AnyStep, context: StepContext<unknown, Record<string, unknown>>, output: unknown): readonly Message[] | undefined => {
  if (step.kind !== "llm" || step.thread === undefined || step.thread === false || context.thread.id === null) return undefined
  let prompt: ReturnType<typeof step.prompt>
  try {
    prompt = step.prompt(context)
  } catch {
    // It returned a prompt moments ago; a prompt function that throws now keeps the answer out of the thread.
    return [{ role: "assistant", content: typeof output === "string" ? output : JSON.stringify(output) }]
  }
  const asked: Message[] = typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt.filter((message) => message.role !== "system")
  return [...asked, { role: "assistant", content: typeof output === "string" ? output : JSON.stringify(output) }]
}
