// Shared pieces of the OpenAI provider tests: fixtures from test/fixtures/openai, models pointed at
// the fake server, and a way to catch what `generate` rejects with.
import { type Model, type OpenAIOptions, openai } from "../../../src/index.ts"
import type { FakeServer } from "../fake-server.ts"
import { fixturesOf, secretKey } from "../fixtures.ts"

export { openSignal, rejectionOf, secretKey, sentBody, sseEvents } from "../fixtures.ts"
export const { jsonFixture, sseFixture } = fixturesOf("openai")

/** The OpenAI provider under test, on the given API, talking to the fake server with the secret key. */
export const modelFor = (server: FakeServer, api: "responses" | "chat", options: Partial<OpenAIOptions> = {}): Model =>
  openai({ model: "gpt-5-mini", apiKey: secretKey, baseURL: `${server.url}/v1`, api, ...options })

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
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { orderId: { type: "string" } },
      required: ["orderId"],
      additionalProperties: false,
    },
  },
  {
    name: "lookupCustomer",
    inputSchema: { type: "object", properties: { email: { type: "string" }, name: { type: "string" } }, required: ["email"], additionalProperties: false },
  },
] as const
