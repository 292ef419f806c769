// A two-step pipeline for the observer tests: a tool call, then a model call that fails once
// (retried) and answers. Its prompt and input carry secrets that must never reach an observer.
import { vi } from "vitest"
import { z } from "zod"
import { callTool, llm, type Model, pipeline, tool } from "../../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"

export const apiKey = "sk-live-0123456789abcdef"
export const bearer = "Bearer abcdefghijklmnop"
export const password = "hunter2-secret"

export const lookupOrder = tool({
  name: "lookupOrder",
  input: z.object({ orderId: z.string(), password: z.string() }),
  run: ({ orderId }) => ({ orderId, status: "shipped", session: bearer }),
})

export const support = pipeline({ id: "support", input: z.object({ orderId: z.string(), question: z.string(), password: z.string() }) })
  .step(
    "lookup",
    callTool(lookupOrder, ({ input }) => ({ orderId: input.orderId, password: input.password })),
  )
  .step(
    "answer",
    llm({
      model: "fast",
      system: "You are support.",
      prompt: ({ input, steps }) => `Order ${steps.lookup?.status}. Customer (key ${apiKey}) asks: ${input.question}`,
      policy: { retry: { attempts: 2, initialDelay: "100ms", jitter: false } },
    }),
  )
  .edges({ lookup: "answer", answer: "done" })

export const supportInput = { orderId: "A-1", question: "Where is my parcel?", password }

/** A scripted model that reports a finish reason, as real providers do. */
export const finishingModel = (replies: readonly ScriptedReply[], usage = { inputTokens: 42, outputTokens: 7 }): Model => {
  const scripted = scriptedModel(replies, { name: "gpt-test", usage })
  return {
    provider: "scripted",
    model: "gpt-test",
    generate: async (request, options) => ({ ...(await scripted.generate(request, options)), finishReason: "stop" }),
  }
}

/** The default script: a server error after 40 ms (retried after 100 ms), then an answer after 25 ms. */
export const supportModel = () =>
  finishingModel([
    { fail: "server", status: 500, delayMs: 40 },
    { text: "Your parcel is on its way.", delayMs: 25 },
  ])

/** Runs with fake timers, advancing time until the run settles. */
export const runWithFakeTime = async <T>(run: () => Promise<T>): Promise<T> => {
  let settled = false
  const promise = run().finally(() => (settled = true))
  while (!settled) await vi.advanceTimersByTimeAsync(5)
  return promise
}
