import type { Message } from "../contract/model.ts"
import { checkThreadId, type ThreadStore } from "../contract/thread.ts"

/**
 * Threads kept in this process's memory: for tests, examples and short-lived services.
 *
 * @example
 * const threads = memoryThreadStore()
 * await chat.run({ message: "Hi" }, { models, threadId: "t1", threads })
 * (await threads.load("t1")).messages.length // 2
 */
export const memoryThreadStore = (): ThreadStore => {
  const threads = new Map<string, { messages: Message[]; facts: Record<string, unknown>; runs: Set<string> }>()
  return {
    load: async (threadId) => {
      checkThreadId(threadId, "memoryThreadStore.load")
      const thread = threads.get(threadId)
      // Copies: a caller changing what it got must not change the store.
      return thread === undefined
        ? { id: threadId, messages: [], facts: {} }
        : structuredClone({ id: threadId, messages: thread.messages, facts: thread.facts })
    },
    append: async (threadId, update) => {
      checkThreadId(threadId, "memoryThreadStore.append")
      let thread = threads.get(threadId)
      if (thread === undefined) threads.set(threadId, (thread = { messages: [], facts: {}, runs: new Set() }))
      if (thread.runs.has(update.runId)) return
      thread.runs.add(update.runId)
      thread.messages.push(...structuredClone(update.messages))
      Object.assign(thread.facts, structuredClone(update.facts))
    },
  }
}
