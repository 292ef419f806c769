// Per-call overhead of the provider layer: `model.generate(...)` of openai() (Chat Completions and
// Responses) and anthropic(), against the official SDK called directly with the same request body,
// both against one loopback fake server answering with the recorded payloads in test/fixtures/.
// The HTTP round trip is in both subjects, so the difference is what switchboard adds per call:
// request mapping, the key and client lookup, the linked abort signal, error wrapping, response mapping.
import Anthropic from "@anthropic-ai/sdk"
import OpenAI from "openai"
import { anthropic, type Model, type ModelRequest, type ModelResponse, openai } from "../../src/index.ts"
import { type FakeServer, type Reply, startFakeServer } from "../../test/providers/fake-server.ts"
import { fixturesOf } from "../../test/providers/fixtures.ts"
import { compare, defaultRepetitions, type Repetitions, type Row, row, type Workload } from "../measure.ts"

const openaiFixtures = fixturesOf("openai")
const anthropicFixtures = fixturesOf("anthropic")
const apiKey = "sk-bench-not-a-real-key"
const system = "You are a support agent. Answer in one sentence."
const question = "My card was charged twice for order A-1042. What happens now?"
const request: ModelRequest = {
  messages: [
    { role: "system", content: system },
    { role: "user", content: question },
  ],
}
const expectedText = "Your refund is on its way."

/**
 * Upper bound on what the provider layer may add to a call, in µs. Not from DESIGN.md: it sits well
 * above this benchmark's noise (±30 µs around a ~0.5 ms loopback round trip), so it flags gross
 * regressions (an SDK client built per call, a schema converted per call, a stream wrapper that
 * costs per chunk) without flapping; next to a real provider's ≥ 100 ms per call it is under 0.1%.
 */
export const providerOverheadTarget = 100

// Each call is a real HTTP round trip (~0.5 ms) whose wall time suffers when other processes take
// the CPU: batches of 5 calls (~3 ms) are short enough that most run undisturbed, and the median
// of 301 of them ignores the rest (batches of 25 to 150 calls gave ±100 µs swings at load 3 on 2 CPUs).
const repetitions: Repetitions = process.env["BENCH_QUICK"] === "1" ? defaultRepetitions : { warmup: 300, batches: 301, runsPerBatch: 5 }

/** One comparison: the reply the server sends, our model's call, and the same call through the bare SDK. */
interface Case {
  readonly name: string
  readonly reply: Reply
  readonly switchboard: () => Promise<string>
  readonly sdk: () => Promise<string>
}

const casesFor = (server: FakeServer): readonly Case[] => {
  const baseURL = `${server.url}/v1`
  const openaiClient = new OpenAI({ apiKey, baseURL, maxRetries: 0 })
  const anthropicClient = new Anthropic({ apiKey, baseURL: server.url, maxRetries: 0, logLevel: "off" })
  const generate = (model: Model, onDelta?: (text: string) => void) => async () => {
    const response: ModelResponse = await model.generate(request, { signal: new AbortController().signal, ...(onDelta === undefined ? {} : { onDelta }) })
    return response.text
  }
  const chat = openai({ model: "gpt-4.1-mini", apiKey, baseURL, api: "chat" })
  const chatBody = {
    model: "gpt-4.1-mini",
    messages: [
      { role: "system" as const, content: system },
      { role: "user" as const, content: question },
    ],
  }
  return [
    {
      name: "openai chat",
      reply: { kind: "json", body: openaiFixtures.jsonFixture("chat-text.json") },
      switchboard: generate(chat),
      sdk: async () => (await openaiClient.chat.completions.create(chatBody, { signal: new AbortController().signal })).choices[0]?.message.content ?? "",
    },
    {
      name: "openai responses",
      reply: { kind: "json", body: openaiFixtures.jsonFixture("responses-text.json") },
      switchboard: generate(openai({ model: "gpt-4.1-mini", apiKey, baseURL, api: "responses" })),
      sdk: async () => {
        const input = [
          { role: "system" as const, content: system },
          { role: "user" as const, content: question },
        ]
        return (await openaiClient.responses.create({ model: "gpt-4.1-mini", input }, { signal: new AbortController().signal })).output_text
      },
    },
    {
      name: "anthropic messages",
      reply: { kind: "json", body: anthropicFixtures.jsonFixture("message-text.json") },
      switchboard: generate(anthropic({ model: "claude-sonnet-4-0", apiKey, baseURL: server.url })),
      sdk: async () => {
        const body = { model: "claude-sonnet-4-0", max_tokens: 4096, messages: [{ role: "user" as const, content: question }], system }
        const message = await anthropicClient.messages.create(body, { signal: new AbortController().signal })
        return message.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("")
      },
    },
    {
      name: "openai chat, streamed",
      reply: { kind: "sse", chunks: openaiFixtures.sseFixture("chat-text.sse") },
      switchboard: generate(chat, () => {}),
      sdk: async () => {
        const stream = await openaiClient.chat.completions.create(
          { ...chatBody, stream: true, stream_options: { include_usage: true } },
          { signal: new AbortController().signal },
        )
        let text = ""
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
        return text
      },
    },
  ]
}

// Every call gets its reply queued just before it; the request log is cleared so it cannot grow.
const served = (server: FakeServer, reply: Reply, call: () => Promise<string>) => async () => {
  server.requests.length = 0
  server.reply(reply)
  const text = await call()
  if (text !== expectedText) throw new Error(`provider benchmark: expected "${expectedText}", got "${text}"`)
}

// Both subjects of a case must put the same request on the wire, or the comparison means nothing.
const checkSameRequest = async (server: FakeServer, entry: Case) => {
  const bodies: unknown[] = []
  for (const call of [entry.switchboard, entry.sdk]) {
    await served(server, entry.reply, call)()
    bodies.push(server.requests[0]?.body)
  }
  if (JSON.stringify(bodies[0]) !== JSON.stringify(bodies[1])) {
    throw new Error(`provider benchmark, ${entry.name}: the bodies differ\nswitchboard: ${JSON.stringify(bodies[0])}\nSDK: ${JSON.stringify(bodies[1])}`)
  }
}

/** The provider workload: per case, µs per call through switchboard and through the SDK, their difference and ratio. */
export const providerWorkload: Workload = {
  name: "provider call overhead",
  run: async (): Promise<readonly Row[]> => {
    const server = await startFakeServer()
    try {
      const rows: Row[] = []
      for (const entry of casesFor(server)) {
        await checkSameRequest(server, entry)
        const perCall = await compare({ switchboard: served(server, entry.reply, entry.switchboard), sdk: served(server, entry.reply, entry.sdk) }, repetitions)
        rows.push(
          row(`${entry.name}: switchboard model.generate`, perCall.switchboard, "µs/call"),
          row(`${entry.name}: SDK called directly`, perCall.sdk, "µs/call"),
          row(`${entry.name}: overhead`, perCall.switchboard - perCall.sdk, "µs/call", providerOverheadTarget),
          row(`${entry.name}: ratio`, perCall.switchboard / perCall.sdk, "x"),
        )
      }
      return rows
    } finally {
      await server.close()
    }
  },
}
