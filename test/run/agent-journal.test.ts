// An agent's journal grows with its turns, not with their square: each model call journals only
// what its conversation gained, and every reader rebuilds the full messages from the journal.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace"
import { afterAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { formatTimeline } from "../../src/cli/show-command.ts"
import { describeConversation } from "../../src/contract/model-calls.ts"
import {
  agent,
  ConversationReadError,
  fn,
  fullModelCalls,
  type Journal,
  type JournalEntry,
  type Message,
  type Model,
  maxSteps,
  memoryJournal,
  messagesOfCall,
  otelObserver,
  pipeline,
  type RunEvent,
  replay,
  sqliteJournal,
  tool,
} from "../../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"

const folder = mkdtempSync(join(tmpdir(), "switchboard-agent-journal-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))
let files = 0
const sqliteFile = () => sqliteJournal({ path: join(folder, `runs-${files++}.db`) })

const lookup = tool({
  name: "lookup",
  input: z.object({ page: z.number() }),
  run: ({ page }) => `page ${page}: ${"lorem ipsum dolor sit amet ".repeat(7)}`,
})

interface Shape {
  /** The turn that answers; each one before it looks up one page. */
  readonly turns: number
  readonly history?: number
  /** Answer with a number of pages, which the first answer gets wrong (so the model is asked again). */
  readonly structured?: boolean
}

const reader = (shape: Shape) =>
  pipeline({ id: "reader", input: z.object({ topic: z.string() }) })
    .step(
      "read",
      agent({
        model: "smart",
        fallback: ["backup"],
        system: "You read pages.",
        prompt: ({ input }) => `Read about ${input.topic}`,
        tools: { lookup },
        stop: [maxSteps(shape.turns + 5)],
        policy: { retry: { attempts: 2, initialDelay: "1ms", jitter: false } },
        ...(shape.history === undefined ? {} : { history: { maxTokens: shape.history } }),
        ...(shape.structured === true ? { output: z.object({ pages: z.number() }) } : {}),
      }),
    )
    .step(
      "publish",
      fn(({ steps }) => `published: ${JSON.stringify(steps.read)}`),
    )
    .edges({ read: "publish", publish: "done" })

// The next page is one after the latest tool result the model sees (trimming keeps the latest).
const nextPage = (messages: readonly Message[]): number => {
  const last = messages.findLast((message) => message.role === "tool")
  return last === undefined ? 1 : Number(/^page (\d+)/.exec(last.content)?.[1]) + 1
}

/** What the model script does; `sent` gets every request's messages, whichever model got it. */
const models = (shape: Shape, sent: Message[][], faults: { readonly retryAt?: number; readonly fallbackAt?: number } = {}) => {
  const failed = new Set<string>()
  const reply =
    (alias: string): ScriptedReply =>
    (request) => {
      const page = nextPage(request.messages)
      if (alias === "smart" && page === faults.retryAt && !failed.has("retry")) return (failed.add("retry"), { fail: "rate-limited" })
      if (alias === "smart" && page === faults.fallbackAt && !failed.has("fallback")) return (failed.add("fallback"), { fail: "authentication" })
      if (page < shape.turns) return { toolCalls: [{ id: `c${page}`, name: "lookup", arguments: { page } }] }
      if (shape.structured !== true) return `read ${page - 1} pages`
      return request.messages.at(-1)?.role === "user" ? { object: { pages: page - 1 } } : "about twenty, I think"
    }
  const capturing = (alias: string): Model => {
    const model = scriptedModel([reply(alias)], { repeat: true })
    return { provider: model.provider, model: alias, generate: (request, options) => (sent.push([...request.messages]), model.generate(request, options)) }
  }
  return { smart: capturing("smart"), backup: capturing("backup") }
}

const jsonBytes = (entries: readonly JournalEntry[]) => entries.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0)
const agentCalls = (entries: readonly JournalEntry[]) => entries.filter((entry) => entry.type === "model.called" && entry.step === "read")

const runReader = async (shape: Shape, journal: Journal, runId: string, faults: Parameters<typeof models>[2] = {}) => {
  const sent: Message[][] = []
  const result = await reader(shape).run({ topic: "tides" }, { models: models(shape, sent, faults), journal, runId })
  return { result, sent, entries: await journal.read(runId) }
}

/** A journal holding only the first `keep` entries of another: what a process killed there leaves. */
const crashedAt = async (entries: readonly JournalEntry[], keep: number, journal: Journal = memoryJournal()): Promise<Journal> => {
  for (const entry of entries.slice(0, keep)) await journal.append(entry)
  return journal
}

/** The journal as it was written before calls were kept linear: every call with its whole messages. */
const oldFormat = (entries: readonly JournalEntry[]): JournalEntry[] => {
  const whole = new Map(fullModelCalls(entries).map((call) => [call.seq, call]))
  return entries.map((entry) => {
    const call = whole.get(entry.seq)
    if (call === undefined) return entry
    const { conversation: _linear, ...before } = call
    return before
  })
}

describe("an agent's journal", () => {
  it("grows linearly: bytes per turn at 100 turns are within 1.2x of those at 10 (SQLite file)", { timeout: 60_000 }, async () => {
    const short = await runReader({ turns: 10 }, sqliteFile(), "short")
    const long = await runReader({ turns: 100 }, sqliteFile(), "long")
    expect(short.result).toMatchObject({ status: "done", output: 'published: "read 9 pages"' })
    expect(long.result).toMatchObject({ status: "done", output: 'published: "read 99 pages"' })
    const ratio = jsonBytes(long.entries) / 100 / (jsonBytes(short.entries) / 10)
    expect(ratio).toBeLessThanOrEqual(1.2)
    // Journaled whole, every call's conversation would make it about 7x.
    expect(jsonBytes(oldFormat(long.entries)) / 100 / (jsonBytes(oldFormat(short.entries)) / 10)).toBeGreaterThan(3)
    // No journaled agent call carries the whole conversation.
    for (const call of agentCalls(long.entries)) expect(call).not.toHaveProperty("messages")
  })

  it("rebuilds the full messages of every call, exactly as the model got them", { timeout: 60_000 }, async () => {
    const { result, sent, entries } = await runReader({ turns: 100 }, sqliteFile(), "exact")
    expect(result.status).toBe("done")
    const calls = fullModelCalls(entries)
    expect(sent).toHaveLength(100)
    expect(calls.map((call) => call.messages)).toEqual(sent)
    expect(calls.map((call) => call.turn)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1))
    // One call at a time, too (what `show` and the OTel observer use).
    const fortieth = entries.find((entry) => entry.type === "model.called" && entry.turn === 40)
    expect(fortieth?.type === "model.called" && messagesOfCall(entries, fortieth)).toEqual(sent[39])
    expect(sent[39]).toHaveLength(2 + 2 * 39)
  })

  it("rebuilds them through retries, a fallback, an answer asked again and a trimmed history", async () => {
    const shape = { turns: 14, history: 400, structured: true }
    const { result, sent, entries } = await runReader(shape, memoryJournal(), "mixed", { retryAt: 3, fallbackAt: 6 })
    expect(result).toMatchObject({ status: "done", output: 'published: {"pages":13}' })
    const calls = fullModelCalls(entries)
    // 14 turns and the one asked again, a retried call, a call that fell back.
    expect(sent).toHaveLength(17)
    expect(calls.map((call) => call.messages)).toEqual(sent)
    expect(calls.filter((call) => call.error !== undefined).map((call) => [call.turn, call.error?._tag])).toEqual([
      [3, "ModelError"],
      [6, "ModelError"],
    ])
    // The history was trimmed: late calls were sent fewer messages than the conversation had.
    const last = calls.at(-1)
    expect(last?.conversation?.sent).toBeDefined()
    expect(last?.messages.length).toBeLessThan((last?.conversation?.from ?? 0) + (last?.conversation?.added.length ?? 0))
    expect(last?.messages.at(-1)).toMatchObject({ role: "user", content: expect.stringContaining("Your previous answer") })
  })

  it("gives listeners every call's full messages, while the journal keeps only what is new", async () => {
    const heard: RunEvent[] = []
    const sent: Message[][] = []
    const journal = memoryJournal()
    const shape = { turns: 6 }
    await reader(shape).run({ topic: "tides" }, { models: models(shape, sent), journal, runId: "live", onEvent: (event) => heard.push(event) })
    const live = heard.filter((event) => event.type === "model.called")
    expect(live.map((event) => event.messages)).toEqual(sent)
    expect(live.map((event) => event.conversation?.added.length)).toEqual([2, 2, 2, 2, 2, 2])
    const journaled = agentCalls(await journal.read("live"))
    expect(journaled.map((entry) => entry.type === "model.called" && entry.conversation)).toEqual(live.map((event) => event.conversation))
  })

  it("resumes after a crash at any point of the agent with the same result, the same conversation and a journal that rebuilds", async () => {
    const shape = { turns: 8, history: 300, structured: true }
    const faults = { retryAt: 3, fallbackAt: 5 }
    const original = await runReader(shape, memoryJournal(), "crash", faults)
    expect(original.result).toMatchObject({ status: "done", output: 'published: {"pages":7}' })
    const byTurn = new Map(fullModelCalls(original.entries).map((call) => [call.turn, JSON.stringify(call.messages)]))
    const first = original.entries.findIndex((entry) => entry.type === "step.started" && entry.step === "read")
    const finished = original.entries.findIndex((entry) => entry.type === "step.finished" && entry.step === "read")
    for (let keep = first + 1; keep <= finished; keep++) {
      const journal = await crashedAt(original.entries, keep)
      const sent: Message[][] = []
      const resumed = await reader(shape).resume("crash", { journal, models: models(shape, sent, faults) })
      expect(resumed, `cut after ${keep} entries`).toMatchObject({ status: "done", output: 'published: {"pages":7}' })
      // The resumed process asked the model what the first one did at those turns.
      for (const messages of sent) expect([...byTurn.values()]).toContain(JSON.stringify(messages))
      const after = await journal.read("crash")
      for (const call of fullModelCalls(after).filter((entry) => entry.step === "read")) {
        expect(JSON.stringify(call.messages), `cut after ${keep} entries, turn ${call.turn}`).toBe(byTurn.get(call.turn))
      }
      expect(after.filter((entry) => entry.type === "agent.turned").map((entry) => entry.type === "agent.turned" && entry.turn)).toEqual(
        original.entries.filter((entry) => entry.type === "agent.turned").map((entry) => entry.type === "agent.turned" && entry.turn),
      )
    }
  })

  it("resumes from a SQLite file cut mid-agent and journals the rest linearly", async () => {
    const shape = { turns: 30 }
    const original = await runReader(shape, sqliteFile(), "cut")
    const cut = original.entries.findIndex((entry) => entry.type === "tool.called" && entry.turn === 12) + 1
    const journal = await crashedAt(original.entries, cut, sqliteFile())
    const sent: Message[][] = []
    const resumed = await reader(shape).resume("cut", { journal, models: models(shape, sent) })
    expect(resumed).toMatchObject({ status: "done", output: 'published: "read 29 pages"' })
    // Turns 1–12 came from the journal; the model was asked from turn 13 on, with the same messages.
    expect(sent).toEqual(original.sent.slice(12))
    const after = await journal.read("cut")
    expect(fullModelCalls(after).map((call) => call.messages)).toEqual(original.sent)
    // The resumed calls continue the conversation the first process journaled: only what is new.
    expect(agentCalls(after).map((entry) => entry.type === "model.called" && entry.conversation?.from)).toEqual([
      ...agentCalls(original.entries.slice(0, cut)).map((entry) => entry.type === "model.called" && entry.conversation?.from),
      24,
      ...Array.from({ length: 17 }, (_, index) => 26 + 2 * index),
    ])
  })

  it("replays identically, from the journal of a run and from that of a resumed one", async () => {
    const shape = { turns: 12, history: 350, structured: true }
    const original = await runReader(shape, memoryJournal(), "replayed", { retryAt: 4 })
    const report = await replay(reader(shape), original.entries)
    expect(report.identical).toBe(true)
    expect(report.mismatches).toEqual([])
    expect(report.result).toMatchObject({ status: "done", output: 'published: {"pages":11}' })
    const cut = original.entries.findIndex((entry) => entry.type === "agent.turned" && entry.turn === 5) + 1
    const journal = await crashedAt(original.entries, cut)
    await reader(shape).resume("replayed", { journal, models: models(shape, []) })
    const again = await replay(reader(shape), await journal.read("replayed"))
    expect(again.identical).toBe(true)
    expect(again.mismatches).toEqual([])
  })

  it("still reads a journal written before, with every call's whole messages, and resumes it", async () => {
    const shape = { turns: 10, history: 300 }
    const original = await runReader(shape, memoryJournal(), "old")
    const old = oldFormat(original.entries)
    expect(fullModelCalls(old).map((call) => call.messages)).toEqual(original.sent)
    expect(formatTimeline(old, { full: true })).toEqual(formatTimeline(original.entries, { full: true }))
    expect((await replay(reader(shape), old)).identical).toBe(true)
    // A run journaled in the old format (its history already trimmed by turn 7), resumed by this
    // one: the first new call journals its whole conversation, the later ones continue it.
    expect(agentCalls(original.entries).find((entry) => entry.type === "model.called" && entry.turn === 7)).toHaveProperty("conversation.sent")
    const cut = old.findIndex((entry) => entry.type === "tool.called" && entry.turn === 7) + 1
    const journal = await crashedAt(old, cut)
    const resumed = await reader(shape).resume("old", { journal, models: models(shape, []) })
    expect(resumed).toMatchObject({ status: "done", output: 'published: "read 9 pages"' })
    const after = await journal.read("old")
    expect(fullModelCalls(after).map((call) => call.messages)).toEqual(original.sent)
    expect(agentCalls(after.slice(cut)).map((entry) => entry.type === "model.called" && entry.conversation?.from)).toEqual([0, 16, 18])
  })

  it("shows the full prompt of a late call with show --full", async () => {
    const { sent, entries } = await runReader({ turns: 40 }, memoryJournal(), "shown")
    const lines = formatTimeline(entries, { full: true })
    const fortieth = lines.flatMap((line, index) => (/model scripted\/smart/.test(line) ? [index] : []))[39] as number
    const prompt = lines.slice(fortieth + 1, fortieth + 1 + (sent[39]?.length ?? 0))
    expect(prompt[0]).toContain("system: You read pages.")
    expect(prompt.at(-1)).toMatch(/^ +tool: page 39: lorem/)
    expect(prompt).toHaveLength(80)
  })

  it("records every agent call's prompt on its OTel span, from live events and from a journal", async () => {
    const exporter = new InMemorySpanExporter()
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
    const tracer = provider.getTracer("test")
    const shape = { turns: 5, history: 250 }
    const sent: Message[][] = []
    const journal = memoryJournal()
    await reader(shape).run(
      { topic: "tides" },
      { models: models(shape, sent), journal, runId: "spans", observers: [otelObserver({ tracer, captureContent: true })] },
    )
    const prompts = async () => {
      await provider.forceFlush()
      const chats = exporter.getFinishedSpans().filter((span) => span.name === "chat smart")
      return chats.map((span) => {
        const details = span.events.find((event) => event.name === "gen_ai.client.inference.operation.details")
        return (JSON.parse(String(details?.attributes?.["gen_ai.input.messages"])) as unknown[]).length
      })
    }
    // The system prompt is an instruction; the rest are input messages.
    const expected = sent.map((messages) => messages.filter((message) => message.role !== "system").length)
    expect(await prompts()).toEqual(expected)
    exporter.reset()
    const fromJournal = otelObserver({ tracer, captureContent: true })
    for (const entry of await journal.read("spans")) fromJournal(entry)
    expect(await prompts()).toEqual(expected)
  })

  it("says which run, step and visit cannot be rebuilt when the calls it continues are missing", async () => {
    const { entries } = await runReader({ turns: 4 }, memoryJournal(), "gap")
    const firstCall = entries.findIndex((entry) => entry.type === "model.called")
    const holed = entries.filter((_, index) => index !== firstCall)
    expect(() => fullModelCalls(holed)).toThrow(ConversationReadError)
    expect(() => fullModelCalls(holed)).toThrow(
      /run "gap", step "read" \(visit 1, turn 2\): it continues a conversation of 2 messages, but the earlier calls of that visit hold 0/,
    )
    // One call at a time: the broken one throws, and so do those continuing it.
    const [second, third] = holed.filter((entry) => entry.type === "model.called")
    expect(second?.type === "model.called" && (() => messagesOfCall(holed, second))).toThrow(ConversationReadError)
    expect(third?.type === "model.called" && (() => messagesOfCall(holed, third))).toThrow(ConversationReadError)
  })

  it("keeps a message the model got that the conversation does not hold (a summary) as it is", () => {
    const conversation: Message[] = [
      { role: "user", content: "task" },
      { role: "assistant", content: "one" },
      { role: "user", content: "more" },
      { role: "assistant", content: "two" },
    ]
    const summary: Message = { role: "system", content: "Earlier: one" }
    const sentMessages = [conversation[0] as Message, summary, conversation[2] as Message, conversation[3] as Message]
    const described = describeConversation(conversation, 0, sentMessages)
    expect(described.sent).toEqual([[0, 1], summary, [2, 4]])
    const call: JournalEntry = {
      seq: 0,
      type: "model.called",
      runId: "s",
      step: "a",
      visit: 1,
      turn: 1,
      provider: "p",
      model: "m",
      conversation: described,
      durationMs: 1,
      at: 1,
    }
    expect(fullModelCalls([call])[0]?.messages).toEqual(sentMessages)
    expect(describeConversation(conversation, 2, conversation)).toEqual({ from: 2, added: conversation.slice(2) })
  })
})
