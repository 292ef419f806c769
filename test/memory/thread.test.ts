import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { formatTimeline } from "../../src/cli/show-command.ts"
import {
  fn,
  human,
  type Journal,
  type JournalEntry,
  llm,
  memoryJournal,
  memoryThreadStore,
  pipeline,
  rememberFacts,
  sqliteJournal,
  sqliteThreadStore,
  type ThreadStore,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

/** A support chat: greets by a remembered name, answers with the thread before the prompt, remembers a name it hears. */
const chat = () =>
  pipeline({ id: "chat", input: z.object({ message: z.string() }) })
    .step(
      "greet",
      fn(({ thread }) => (typeof thread.facts["name"] === "string" ? `Welcome back, ${thread.facts["name"]}` : "Hello")),
    )
    .step("reply", llm({ model: "fast", system: "You are support.", thread: true, prompt: ({ input }) => input.message }))
    .step(
      "remember",
      rememberFacts(({ input }) => ({ name: /I'm (\w+)/.exec(input.message)?.[1] })),
    )
    .edges({ greet: "reply", reply: "remember", remember: "done" })

const folders: string[] = []
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})
const sqliteFile = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-threads-"))
  folders.push(folder)
  return join(folder, "threads.db")
}

/** A journal holding only the first entries of another run's journal: the state a crash leaves. */
const cutAt = async (source: Journal, runId: string, keep: (entries: readonly JournalEntry[]) => number): Promise<Journal> => {
  const entries = await source.read(runId)
  const journal = memoryJournal()
  for (const entry of entries.slice(0, keep(entries))) await journal.append(entry)
  return journal
}
const entriesBefore = (type: JournalEntry["type"]) => (entries: readonly JournalEntry[]) => entries.findIndex((entry) => entry.type === type)

describe.each([
  ["memory", () => ({ store: memoryThreadStore() as ThreadStore, reopen: undefined as (() => ThreadStore) | undefined })],
  [
    "sqlite",
    () => {
      const path = sqliteFile()
      return { store: sqliteThreadStore(path) as ThreadStore, reopen: () => sqliteThreadStore(path) as ThreadStore }
    },
  ],
])("thread memory (%s store)", (_name, makeStore) => {
  it("carries messages and facts from one run to the next", async () => {
    const { store, reopen } = makeStore()
    const fast = scriptedModel(["Hi Ada, how can I help?", "Your order ships today."])
    const first = await chat().run({ message: "Hi, I'm Ada" }, { models: { fast }, threadId: "customer-42", threads: store })
    expect(first).toMatchObject({ status: "done", steps: { greet: "Hello" } })
    // a new process: the SQLite store is opened again from its file
    const threads = reopen?.() ?? store
    const second = await chat().run({ message: "Where is my order?" }, { models: { fast }, threadId: "customer-42", threads })
    expect(second).toMatchObject({ status: "done", steps: { greet: "Welcome back, Ada" } })
    expect(fast.calls[1]?.request.messages).toEqual([
      { role: "system", content: "You are support." },
      { role: "user", content: "Hi, I'm Ada" },
      { role: "assistant", content: "Hi Ada, how can I help?" },
      { role: "user", content: "Where is my order?" },
    ])
    const thread = await threads.load("customer-42")
    expect(thread.messages.map((message) => message.content)).toEqual([
      "Hi, I'm Ada",
      "Hi Ada, how can I help?",
      "Where is my order?",
      "Your order ships today.",
    ])
    // the second run heard no name: the undefined fact leaves the first one in place
    expect(thread.facts).toEqual({ name: "Ada" })
    expect((await threads.load("someone-else")).messages).toEqual([])
  })

  it("does not append twice when a run is resumed, wherever it crashed", async () => {
    const { store } = makeStore()
    const journal = memoryJournal()
    await chat().run({ message: "Hi, I'm Ada" }, { models: { fast: scriptedModel(["Hello Ada"]) }, threadId: "t", threads: store, journal, runId: "run-1" })
    const once = ["Hi, I'm Ada", "Hello Ada"]
    expect((await store.load("t")).messages.map((message) => message.content)).toEqual(once)

    // Crashed after saving to the store but before journaling it: the store ignores the second save.
    const unjournaled = await chat().resume("run-1", { journal: await cutAt(journal, "run-1", entriesBefore("thread.saved")), threads: store, models: {} })
    expect(unjournaled).toMatchObject({ status: "done" })
    // Crashed after thread.saved, before run.finished: nothing is saved again.
    await chat().resume("run-1", { journal: await cutAt(journal, "run-1", entriesBefore("run.finished")), threads: store, models: {} })
    expect((await store.load("t")).messages.map((message) => message.content)).toEqual(once)

    // Crashed before the run was done: the resumed run saves the exchange its journal holds, once.
    const fresh = makeStore().store
    const midRun = await cutAt(journal, "run-1", (entries) => entries.findIndex((entry) => entry.type === "step.started" && entry.step === "remember"))
    const resumed = await chat().resume("run-1", { journal: midRun, threads: fresh, models: {} })
    expect(resumed).toMatchObject({ status: "done", output: { name: "Ada" } })
    expect(await fresh.load("t")).toEqual({
      id: "t",
      messages: [
        { role: "user", content: "Hi, I'm Ada" },
        { role: "assistant", content: "Hello Ada" },
      ],
      facts: { name: "Ada" },
    })
  })
})

describe("thread memory", () => {
  it("journals the thread it loaded, and a resumed run reads that one even if the store moved on", async () => {
    const threads = memoryThreadStore()
    await threads.append("t", { runId: "earlier", messages: [{ role: "user", content: "first" }], facts: { plan: "basic" } })
    const journal = memoryJournal()
    const hang = scriptedModel([{ hang: true }])
    const controller = new AbortController()
    const running = chat().run({ message: "hello" }, { models: { fast: hang }, threadId: "t", threads, journal, runId: "r", signal: controller.signal })
    while (hang.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    const crashed = await cutAt(journal, "r", (entries) => entries.length)
    controller.abort()
    await running
    expect((await crashed.read("r")).find((entry) => entry.type === "thread.loaded")).toMatchObject({
      threadId: "t",
      messages: [{ role: "user", content: "first" }],
      facts: { plan: "basic" },
    })
    await threads.append("t", { runId: "meanwhile", messages: [{ role: "user", content: "later" }], facts: { plan: "pro" } })
    const fast = scriptedModel(["answer"])
    const resumed = await chat().resume("r", { journal: crashed, threads, models: { fast } })
    expect(resumed).toMatchObject({ status: "done" })
    expect(fast.calls[0]?.request.messages.map((message) => message.content)).toEqual(["You are support.", "first", "hello"])
  })

  it("saves nothing when the run fails, and sends only the last messages with thread: { lastMessages }", async () => {
    const threads = memoryThreadStore()
    await threads.append("t", { runId: "old", messages: ["a", "b", "c"].map((content) => ({ role: "user" as const, content })), facts: {} })
    const short = pipeline({ id: "short", input: z.object({ message: z.string() }) })
      .step("reply", llm({ model: "fast", thread: { lastMessages: 2 }, prompt: ({ input }) => input.message }))
      .edges({ reply: "done" })
    const fast = scriptedModel([{ fail: "authentication" }])
    expect(await short.run({ message: "d" }, { models: { fast }, threadId: "t", threads })).toMatchObject({ status: "failed" })
    expect(fast.calls[0]?.request.messages.map((message) => message.content)).toEqual(["b", "c", "d"])
    expect((await threads.load("t")).messages).toHaveLength(3)
    expect(() => pipeline({ id: "bad", input: z.object({}) }).step("reply", llm({ model: "fast", thread: { lastMessages: -1 }, prompt: () => "x" }))).toThrow(
      'step "reply": llm({ ... }).thread.lastMessages must be an integer >= 0, got -1',
    )
  })

  it("fails with a ThreadError naming the thread when there is no store or it cannot load", async () => {
    expect(await chat().run({ message: "hi" }, { models: {}, threadId: "t" })).toMatchObject({
      status: "failed",
      error: { _tag: "ThreadError", threadId: "t", message: expect.stringContaining("needs a thread store") },
    })
    const broken: ThreadStore = { load: async () => Promise.reject(new Error("disk on fire")), append: async () => {} }
    expect(await chat().run({ message: "hi" }, { models: {}, threadId: "t", threads: broken })).toMatchObject({
      status: "failed",
      error: { _tag: "ThreadError", message: 'could not load thread "t": disk on fire' },
    })
    // run() never throws: a bad thread id is a failed run too
    expect(await chat().run({ message: "hi" }, { models: {}, threadId: " ", threads: memoryThreadStore() })).toMatchObject({
      status: "failed",
      error: { _tag: "ThreadError", message: expect.stringContaining("threadId must be a non-empty string") },
    })
  })

  it("a failed save leaves the run resumable, and the resume saves it", async () => {
    const working = memoryThreadStore()
    let failing = true
    const flaky: ThreadStore = {
      load: working.load,
      append: async (threadId, update) => (failing ? Promise.reject(new Error("locked")) : working.append(threadId, update)),
    }
    const journal = memoryJournal()
    const first = await chat().run(
      { message: "Hi, I'm Bo" },
      { models: { fast: scriptedModel(["Hi Bo"]) }, threadId: "t", threads: flaky, journal, runId: "s" },
    )
    expect(first).toMatchObject({
      status: "failed",
      error: { _tag: "ThreadError", message: expect.stringContaining("resume the run to save it again") },
      steps: { reply: "Hi Bo" },
    })
    expect((await journal.read("s")).some((entry) => entry.type === "run.finished")).toBe(false)
    failing = false
    expect(await chat().resume("s", { journal, threads: flaky, models: {} })).toMatchObject({ status: "done" })
    expect((await working.load("t")).facts).toEqual({ name: "Bo" })
  })

  it("saves the thread of a run paused on a person when decide() finishes it, reading the thread it loaded", async () => {
    const threads = memoryThreadStore()
    await threads.append("t", { runId: "old", messages: [], facts: { name: "Ada" } })
    const reviewed = pipeline({ id: "reviewed", input: z.object({ message: z.string() }) })
      .step("draft", llm({ model: "fast", thread: true, prompt: ({ input, thread }) => `${input.message} (customer: ${String(thread.facts["name"])})` }))
      .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
      .edges({ draft: "review", review: "done" })
    const journal = memoryJournal()
    const paused = await reviewed.run({ message: "Refund?" }, { models: { fast: scriptedModel(["Refund approved."]) }, threadId: "t", threads, journal })
    expect(paused).toMatchObject({ status: "awaiting-human" })
    expect((await threads.load("t")).messages).toEqual([])
    expect(await reviewed.decide(paused.runId, "review", { approve: true }, { journal, threads })).toMatchObject({ status: "done" })
    expect((await threads.load("t")).messages).toEqual([
      { role: "user", content: "Refund? (customer: Ada)" },
      { role: "assistant", content: "Refund approved." },
    ])
  })

  it("shows the thread in the run's timeline (switchboard show)", async () => {
    const journal = memoryJournal()
    const threads = memoryThreadStore()
    await chat().run({ message: "Hi, I'm Ada" }, { models: { fast: scriptedModel(["Hello Ada"]) }, threadId: "customer-42", threads, journal, runId: "t1" })
    expect(formatTimeline(await journal.read("t1"), { full: false })[1]).toBe("  thread customer-42: loaded 0 messages, 0 facts; saved 2 messages, facts name")
  })

  it("shares one SQLite file with the journal, each in its own tables", async () => {
    const path = sqliteFile()
    const journal = sqliteJournal({ path })
    const threads = sqliteThreadStore(path)
    try {
      await chat().run({ message: "Hi, I'm Ada" }, { models: { fast: scriptedModel(["Hello Ada"]) }, threadId: "t", threads, journal, runId: "shared" })
      expect((await journal.read("shared")).map((entry) => entry.type)).toContain("thread.saved")
      expect(journal.runs()).toEqual([expect.objectContaining({ runId: "shared", status: "done" })])
    } finally {
      journal.close()
      threads.close()
    }
    const reopened = sqliteThreadStore(path)
    expect((await reopened.load("t")).facts).toEqual({ name: "Ada" })
    reopened.close()
  })

  it("gives steps an empty thread when the run has none", async () => {
    const result = await chat().run({ message: "hi" }, { models: { fast: scriptedModel(["hello"]) } })
    expect(result).toMatchObject({ status: "done", steps: { greet: "Hello" } })
  })
})
