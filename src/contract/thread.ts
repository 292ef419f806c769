import type { Message } from "./model.ts"

/**
 * A conversation thread as a run sees it: the messages of earlier runs and the facts they saved.
 * `id` is `null` when the run has no thread.
 *
 * @example
 * const greeting = (thread: Thread) => (typeof thread.facts["name"] === "string" ? `Hello again, ${thread.facts["name"]}` : "Hello")
 */
export interface Thread {
  readonly id: string | null
  readonly messages: readonly Message[]
  readonly facts: Readonly<Record<string, unknown>>
}

/**
 * What one finished run adds to a thread: its messages (appended) and its facts (merged over the
 * thread's, key by key). Stores apply an update once per `runId`: a resumed run saving again is a no-op.
 *
 * @example
 * const update: ThreadUpdate = { runId: "run-1", messages: [{ role: "user", content: "Hi" }], facts: { name: "Ada" } }
 */
export interface ThreadUpdate {
  readonly runId: string
  readonly messages: readonly Message[]
  readonly facts: Readonly<Record<string, unknown>>
}

/**
 * Where threads live between runs. `load` of an unknown thread gives an empty one; `append` must be
 * idempotent by `update.runId`, so a run resumed after a crash never saves its messages twice.
 *
 * @example
 * const threads: ThreadStore = memoryThreadStore()
 * await support.run({ message: "Hi, I'm Ada" }, { models, threadId: "customer-42", threads })
 */
export interface ThreadStore {
  load(threadId: string): Promise<Thread>
  append(threadId: string, update: ThreadUpdate): Promise<void>
}

/** The thread of a run without one. */
export const noThread: Thread = Object.freeze({ id: null, messages: Object.freeze([]), facts: Object.freeze({}) })

/** Checks a thread id where it is given. */
export const checkThreadId = (threadId: unknown, where: string): string => {
  if (typeof threadId !== "string" || threadId.trim() === "" || threadId.length > 200) {
    throw new TypeError(`${where}: threadId must be a non-empty string of at most 200 characters, got ${JSON.stringify(threadId)}`)
  }
  return threadId
}
