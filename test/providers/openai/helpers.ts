// Shared pieces of the OpenAI provider tests: fixtures from test/fixtures/openai, models pointed at
// the fake server, and a way to catch what `generate` rejects with.
import { readFileSync } from "node:fs"
import { type Model, openai, type OpenAIOptions } from "../../../src/index.ts"
import type { FakeServer } from "../fake-server.ts"

/** A key that must never appear in any error, message or event. */
export const secretKey = "sk-test-SECRET123456"

const fixtureText = (name: string) => readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url), "utf8")

/** A JSON fixture (a response body or an error body). */
export const jsonFixture = (name: string): unknown => JSON.parse(fixtureText(name))

/** An SSE fixture as the chunks the fake server writes, one event each. */
export const sseFixture = (name: string): string[] => sseEvents(fixtureText(name))

/** Splits an SSE body into its events, each ending with its blank line. */
export const sseEvents = (text: string): string[] =>
  text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.trim() !== "")
    .map((event) => `${event}\n\n`)

/** The OpenAI provider under test, on the given API, talking to the fake server with the secret key. */
export const modelFor = (server: FakeServer, api: "responses" | "chat", options: Partial<OpenAIOptions> = {}): Model =>
  openai({ model: "gpt-5-mini", apiKey: secretKey, baseURL: `${server.url}/v1`, api, ...options })

/** A signal nobody aborts. */
export const openSignal = (): AbortSignal => new AbortController().signal

/** What a promise rejected with; fails the test when it resolves. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`)
    },
    (error: unknown) => error,
  )

/** The body the fake server received for request `index` (default: the last one). */
export const sentBody = (server: FakeServer, index = -1): Record<string, unknown> => server.requests.at(index)?.body as Record<string, unknown>

/** Polls until `condition` holds (the server notices a closed socket a moment after the client). */
export const eventually = async (condition: () => boolean, ms = 1000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A conversation with a tool round trip: a user turn, two parallel calls, their results. */
export const toolConversation = [
  { role: "system", content: "You are support." },
  { role: "user", content: "Where is order A-1 for ada@example.com?" },
  {
    role: "assistant",
    content: "",
    toolCalls: [
      { id: "call_1", name: "lookupOrder", arguments: { orderId: "A-1" } },
      { id: "call_2", name: "lookupCustomer", arguments: { email: "ada@example.com" } },
    ],
  },
  { role: "tool", toolCallId: "call_1", name: "lookupOrder", content: '{"status":"shipped"}' },
  { role: "tool", toolCallId: "call_2", name: "lookupCustomer", content: "customer not found", isError: true },
] as const

/** Two tools: one whose schema suits strict mode, one with an optional field (which does not). */
export const tools = [
  {
    name: "lookupOrder",
    description: "Finds an order",
    inputSchema: { $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", properties: { orderId: { type: "string" } }, required: ["orderId"], additionalProperties: false },
  },
  {
    name: "lookupCustomer",
    inputSchema: { type: "object", properties: { email: { type: "string" }, name: { type: "string" } }, required: ["email"], additionalProperties: false },
  },
] as const
