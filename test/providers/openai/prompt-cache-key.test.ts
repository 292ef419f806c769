// `prompt_cache_key` on the wire: per pipeline and step, per thread, off with `cache: false`, and
// never sent to OpenAI-compatible servers (which may refuse a field they do not know).
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { llm, type Model, memoryThreadStore, openaiCompatible, pipeline } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, openSignal, secretKey, sentBody } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const chatAnswer = () => ({ kind: "json" as const, body: jsonFixture("chat-text.json") })
const responsesAnswer = () => ({ kind: "json" as const, body: jsonFixture("responses-text.json") })

const answering = (options: { readonly cache?: false | { key: string }; readonly thread?: boolean } = {}) =>
  pipeline({ id: "support", input: z.object({ text: z.string() }) })
    .step(
      "reply",
      llm({
        model: "fast",
        system: "Be brief.",
        prompt: ({ input }) => input.text,
        ...(options.cache === undefined ? {} : { cache: options.cache }),
        ...(options.thread === true ? { thread: true } : {}),
      }),
    )
    .edges({ reply: "done" })

describe("openai prompt_cache_key", () => {
  it("a step's calls carry the pipeline and step as key, on both APIs", async () => {
    server.reply(responsesAnswer(), chatAnswer())
    await answering().run({ text: "Hi" }, { models: { fast: modelFor(server, "responses") } })
    await answering().run({ text: "Hi" }, { models: { fast: modelFor(server, "chat") } })
    expect(sentBody(server, 0)["prompt_cache_key"]).toBe("support:reply")
    expect(sentBody(server, 1)["prompt_cache_key"]).toBe("support:reply")
  })

  it("a step that sends the run's thread keys by the thread", async () => {
    server.reply(responsesAnswer())
    await answering({ thread: true }).run(
      { text: "Hi" },
      { models: { fast: modelFor(server, "responses") }, threadId: "customer-42", threads: memoryThreadStore() },
    )
    expect(sentBody(server)["prompt_cache_key"]).toBe("thread:customer-42")
  })

  it("cache: false sends no key, cache: { key } sends its own", async () => {
    server.reply(responsesAnswer(), responsesAnswer())
    await answering({ cache: false }).run({ text: "Hi" }, { models: { fast: modelFor(server, "responses") } })
    await answering({ cache: { key: "tenant-7" } }).run({ text: "Hi" }, { models: { fast: modelFor(server, "responses") } })
    expect(sentBody(server, 0)).not.toHaveProperty("prompt_cache_key")
    expect(sentBody(server, 1)["prompt_cache_key"]).toBe("tenant-7")
  })

  it("a key longer than 64 characters is shortened, stably", async () => {
    server.reply(chatAnswer(), chatAnswer())
    const model = modelFor(server, "chat")
    const key = `tenant-${"x".repeat(100)}`
    await model.generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal(), promptCache: { key } })
    await model.generate({ messages: [{ role: "user", content: "Hi" }] }, { signal: openSignal(), promptCache: { key } })
    const sent = sentBody(server, 0)["prompt_cache_key"] as string
    expect(sent.length).toBeLessThanOrEqual(64)
    expect(sent.startsWith("tenant-xxx")).toBe(true)
    expect(sentBody(server, 1)["prompt_cache_key"]).toBe(sent)
  })

  it("an OpenAI-compatible server is sent no key", async () => {
    server.reply(chatAnswer())
    const local: Model = openaiCompatible({ model: "llama", baseURL: `${server.url}/v1`, apiKey: secretKey })
    await answering().run({ text: "Hi" }, { models: { fast: local } })
    expect(sentBody(server)).not.toHaveProperty("prompt_cache_key")
  })
})
