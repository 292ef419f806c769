// The response cache (`modelCache`): a hit answers without a call and is journaled as cached; a
// changed request, a new version, a torn row or a failing store is a miss, never a failed step.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import {
  agent,
  checkJournal,
  llm,
  type Model,
  type ModelCache,
  type ModelRequest,
  maxSteps,
  memoryModelCache,
  pipeline,
  type RunEvent,
  sqliteJournal,
  sqliteModelCache,
  tool,
} from "../../src/index.ts"

const directories: string[] = []
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})
const temporaryFile = (name: string) => {
  const directory = mkdtempSync(join(tmpdir(), "switchboard-model-cache-"))
  directories.push(directory)
  return join(directory, name)
}

// Answers with the last message upper-cased, and counts its calls.
const countingModel = (): Model & { readonly requests: ModelRequest[] } => {
  const requests: ModelRequest[] = []
  return {
    provider: "test",
    model: "upper-1",
    requests,
    generate: async (request) => {
      requests.push(request)
      return { text: String(request.messages.at(-1)?.content ?? "").toUpperCase(), usage: { inputTokens: 10, outputTokens: 3 }, finishReason: "stop" }
    },
  }
}

const shout = pipeline({ id: "shout", input: z.object({ text: z.string() }) })
  .step("say", llm({ model: "fast", prompt: ({ input }) => input.text }))
  .edges({ say: "done" })

const calledEvents = (events: RunEvent[]) => events.filter((event): event is Extract<RunEvent, { type: "model.called" }> => event.type === "model.called")

describe("modelCache", () => {
  it("a repeated request is answered from the cache: no call, journaled as cached with usage 0", async () => {
    const fast = countingModel()
    const modelCache = memoryModelCache()
    const first = await shout.run({ text: "hello" }, { models: { fast }, modelCache })
    const events: RunEvent[] = []
    const second = await shout.run({ text: "hello" }, { models: { fast }, modelCache, onEvent: (event) => events.push(event) })
    expect(fast.requests).toHaveLength(1)
    expect(first).toMatchObject({ status: "done", output: "HELLO" })
    expect(second).toMatchObject({ status: "done", output: "HELLO", usage: { inputTokens: 0, outputTokens: 0, calls: 0 } })
    const [called] = calledEvents(events)
    expect(called).toMatchObject({ cached: true, usage: { inputTokens: 0, outputTokens: 0 }, response: { text: "HELLO", finishReason: "stop" } })
  })

  it("a changed request misses, and so does a new version string", async () => {
    const fast = countingModel()
    const modelCache = memoryModelCache()
    await shout.run({ text: "hello" }, { models: { fast }, modelCache })
    await shout.run({ text: "hello!" }, { models: { fast }, modelCache })
    await shout.run({ text: "hello" }, { models: { fast }, modelCache: memoryModelCache({ version: "prompts-v2" }) })
    expect(fast.requests).toHaveLength(3)
  })

  it("the same request to another model misses", async () => {
    const fast = countingModel()
    const other: Model = { ...countingModel(), model: "upper-2" }
    const modelCache = memoryModelCache()
    await shout.run({ text: "hello" }, { models: { fast }, modelCache })
    const events: RunEvent[] = []
    await shout.run({ text: "hello" }, { models: { fast: other }, modelCache, onEvent: (event) => events.push(event) })
    expect(calledEvents(events)[0]?.cached).toBeUndefined()
  })

  it("without a cache nothing is kept and nothing is marked", async () => {
    const fast = countingModel()
    const events: RunEvent[] = []
    await shout.run({ text: "hello" }, { models: { fast } })
    await shout.run({ text: "hello" }, { models: { fast }, onEvent: (event) => events.push(event) })
    expect(fast.requests).toHaveLength(2)
    expect(calledEvents(events)[0]).not.toHaveProperty("cached")
  })

  it("a SQLite cache keeps answers across processes' worth of reopenings, and its journal entries check", async () => {
    const path = temporaryFile("cache.db")
    const fast = countingModel()
    const first = sqliteModelCache(path)
    await shout.run({ text: "hello" }, { models: { fast }, modelCache: first })
    first.close()
    const reopened = sqliteModelCache(path)
    const journal = sqliteJournal({ path: temporaryFile("runs.db") })
    const result = await shout.run({ text: "hello" }, { models: { fast }, modelCache: reopened, journal })
    reopened.close()
    expect(fast.requests).toHaveLength(1)
    expect(result).toMatchObject({ status: "done", output: "HELLO" })
    const entries = checkJournal(result.runId, await journal.read(result.runId))
    expect(entries.find((entry) => entry.type === "model.called")).toMatchObject({ cached: true })
    journal.close()
  })

  it("a corrupt row is a miss: the model is called and the row is written again", async () => {
    const path = temporaryFile("cache.db")
    const fast = countingModel()
    const cache = sqliteModelCache(path)
    await shout.run({ text: "hello" }, { models: { fast }, modelCache: cache })
    cache.close()
    for (const value of ['{"text": "HEL', '{"text": 42}', '{"text": "x", "toolCalls": [{"name": 1}]}']) {
      const database = new DatabaseSync(path)
      database.prepare("UPDATE model_cache SET value = ?").run(value)
      database.close()
      const reopened = sqliteModelCache(path)
      const result = await shout.run({ text: "hello" }, { models: { fast }, modelCache: reopened })
      reopened.close()
      expect(result).toMatchObject({ status: "done", output: "HELLO" })
    }
    expect(fast.requests).toHaveLength(4)
    const again = sqliteModelCache(path)
    await shout.run({ text: "hello" }, { models: { fast }, modelCache: again })
    again.close()
    expect(fast.requests).toHaveLength(4)
  })

  it("a store that throws is a miss, not a failed step", async () => {
    const fast = countingModel()
    const broken: ModelCache = {
      label: "broken",
      get: async () => {
        throw new Error("disk on fire")
      },
      set: async () => {
        throw new Error("disk on fire")
      },
    }
    const result = await shout.run({ text: "hello" }, { models: { fast }, modelCache: broken })
    expect(result).toMatchObject({ status: "done", output: "HELLO" })
  })

  it("an agent's turns are cached; its tools still run", async () => {
    let toolRuns = 0
    const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: async ({ id }) => (toolRuns++, `order ${id}: shipped`) })
    const turns: string[] = []
    const scripted: Model = {
      provider: "test",
      model: "agent-1",
      generate: async (request) => {
        const last = request.messages.at(-1)
        turns.push(last?.role ?? "")
        return last?.role === "tool" ? { text: "It shipped." } : { text: "", toolCalls: [{ id: "c1", name: "lookup", arguments: { id: "A-1" } }] }
      },
    }
    const support = pipeline({ id: "support", input: z.object({ question: z.string() }) })
      .step("answer", agent({ model: "smart", prompt: ({ input }) => input.question, tools: { lookup }, stop: [maxSteps(3)] }))
      .edges({ answer: "done" })
    const modelCache = memoryModelCache()
    const first = await support.run({ question: "Where is A-1?" }, { models: { smart: scripted }, modelCache })
    const second = await support.run({ question: "Where is A-1?" }, { models: { smart: scripted }, modelCache })
    expect(first).toMatchObject({ status: "done", output: "It shipped." })
    expect(second).toMatchObject({ status: "done", output: "It shipped." })
    expect(turns).toHaveLength(2)
    expect(toolRuns).toBe(2)
  })

  it("a modelCache without get and set is refused, naming the option", async () => {
    const result = await shout.run({ text: "hello" }, { models: { fast: countingModel() }, modelCache: {} as ModelCache })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "ConfigurationError", message: expect.stringContaining("modelCache") } })
  })
})
