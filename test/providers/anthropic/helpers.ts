// Shared pieces of the Anthropic provider tests: fixtures from test/fixtures/anthropic, a model
// pointed at the fake server, and a way to catch what `generate` rejects with.
import { type AnthropicOptions, anthropic, type Model } from "../../../src/index.ts"
import type { FakeServer } from "../fake-server.ts"
import { fixturesOf, secretKey } from "../fixtures.ts"

export { openSignal, rejectionOf, secretKey, sentBody, sseEvents } from "../fixtures.ts"
export const { jsonFixture, sseFixture } = fixturesOf("anthropic")

/** The provider under test, talking to the fake server with the secret key. */
export const modelFor = (server: FakeServer, options: Partial<AnthropicOptions> = {}): Model =>
  anthropic({ model: "claude-sonnet-5", apiKey: secretKey, baseURL: server.url, ...options })
