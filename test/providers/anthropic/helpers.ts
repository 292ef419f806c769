// Shared pieces of the Anthropic provider tests: fixtures from test/fixtures/anthropic, a model
// pointed at the fake server, and a way to catch what `generate` rejects with.
import { readFileSync } from "node:fs"
import { anthropic, type AnthropicOptions, type Model } from "../../../src/index.ts"
import type { FakeServer } from "../fake-server.ts"

/** A key that must never appear in any error, message or event. */
export const secretKey = "sk-test-SECRET123456"

const fixtureText = (name: string) => readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url), "utf8")

/** A JSON fixture (a Messages API body or an error body). */
export const jsonFixture = (name: string): unknown => JSON.parse(fixtureText(name))

/** An SSE fixture as the chunks the fake server writes, one event each. */
export const sseFixture = (name: string): string[] => sseEvents(fixtureText(name))

/** Splits an SSE body into its events, each ending with its blank line. */
export const sseEvents = (text: string): string[] =>
  text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.trim() !== "")
    .map((event) => `${event}\n\n`)

/** The provider under test, talking to the fake server with the secret key. */
export const modelFor = (server: FakeServer, options: Partial<AnthropicOptions> = {}): Model =>
  anthropic({ model: "claude-sonnet-5", apiKey: secretKey, baseURL: server.url, ...options })

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
