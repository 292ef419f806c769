import { describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, estimateMessageTokens, type Message, maxSteps, pipeline, tool, trimHistory } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const words = (n: number) => "word ".repeat(n).trim()

const conversation: Message[] = [
  { role: "system", content: "You are terse." },
  { role: "user", content: "Find the cheapest flight." },
  { role: "assistant", content: "", toolCalls: [{ id: "1", name: "search", arguments: { from: "AMS" } }] },
  { role: "tool", toolCallId: "1", name: "search", content: words(200) },
  {
    role: "assistant",
    content: "",
    toolCalls: [
      { id: "2", name: "search", arguments: { from: "RTM" } },
      { id: "3", name: "search", arguments: { from: "EIN" } },
    ],
  },
  { role: "tool", toolCallId: "2", name: "search", content: words(100) },
  { role: "tool", toolCallId: "3", name: "search", content: words(100) },
  { role: "assistant", content: "", toolCalls: [{ id: "4", name: "price", arguments: { flight: "KL1" } }] },
  { role: "tool", toolCallId: "4", name: "price", content: "120 EUR" },
]

const total = (messages: readonly Message[]) => messages.reduce((sum, message) => sum + estimateMessageTokens(message), 0)

describe("trimHistory", () => {
  it("keeps system + the task + the latest turns within the budget", () => {
    const trimmed = trimHistory(conversation, 400)
    expect(total(trimmed)).toBeLessThanOrEqual(400)
    expect(trimmed.slice(0, 2)).toEqual(conversation.slice(0, 2))
    expect(trimmed.at(-1)).toEqual(conversation.at(-1))
    // The oldest turn (200 words) is what went.
    expect(trimmed.some((message) => message.role === "tool" && message.toolCallId === "1")).toBe(false)
  })

  it("never splits an assistant tool-call message from its tool results", () => {
    for (let budget = 20; budget <= 1_000; budget += 10) {
      const trimmed = trimHistory(conversation, budget)
      const asked = new Set(trimmed.flatMap((message) => (message.role === "assistant" ? (message.toolCalls ?? []).map((call) => call.id) : [])))
      const answered = new Set(trimmed.flatMap((message) => (message.role === "tool" ? [message.toolCallId] : [])))
      expect([...answered].sort()).toEqual([...asked].sort())
    }
  })

  it("keeps the latest turn even when it alone is over the budget, and everything when it all fits", () => {
    const trimmed = trimHistory(conversation, 1)
    expect(trimmed).toEqual([conversation[0], conversation[1], conversation[7], conversation[8]])
    expect(trimHistory(conversation, 10_000)).toEqual(conversation)
  })

  it("estimates a quarter token per character plus framing", () => {
    expect(estimateMessageTokens({ role: "user", content: "x".repeat(40) })).toBe(14)
    expect(estimateMessageTokens({ role: "tool", toolCallId: "1", name: "abcd", content: "x".repeat(36) })).toBe(14)
  })

  it("an agent with history sends a trimmed conversation each turn", async () => {
    const search = tool({ name: "search", input: z.object({ q: z.string() }), run: () => words(300) })
    const model = scriptedModel([
      { toolCalls: [{ name: "search", arguments: { q: "a" } }] },
      { toolCalls: [{ name: "search", arguments: { q: "b" } }] },
      { toolCalls: [{ name: "search", arguments: { q: "c" } }] },
      "done",
    ])
    const p = pipeline({ id: "p", input: z.object({}) })
      .step("dig", agent({ model: "smart", system: "sys", prompt: () => "dig", tools: { search }, history: { maxTokens: 900 }, stop: [maxSteps(5)] }))
      .edges({ dig: "done" })
    expect(await p.run({}, { models: { smart: model } })).toMatchObject({ status: "done", output: "done" })
    const sent = model.calls.map((call) => call.request.messages)
    expect(sent.map(total).every((tokens) => tokens <= 900)).toBe(true)
    expect(sent[3]?.filter((message) => message.role === "tool")).toHaveLength(2)
    expect(sent[3]?.slice(0, 2)).toEqual([
      { role: "system", content: "sys" },
      { role: "user", content: "dig" },
    ])
  })
})
