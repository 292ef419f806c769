// Pieces shared by the provider tests: wire payloads from test/fixtures/<vendor>/, and small assertions.
import { readFileSync } from "node:fs"
import type { FakeServer } from "./fake-server.ts"

/** A key that must never appear in any error, message or event. */
export const secretKey = "sk-test-SECRET123456"

/** Splits an SSE body into its events, each ending with its blank line. */
export const sseEvents = (text: string): string[] =>
  text
    .split(/\r?\n\r?\n/)
    .filter((event) => event.trim() !== "")
    .map((event) => `${event}\n\n`)

/** Readers of one vendor's fixtures: a JSON body, or an SSE body as the chunks the fake server writes. */
export const fixturesOf = (vendor: "openai" | "anthropic") => {
  const fixtureText = (name: string) => readFileSync(new URL(`../fixtures/${vendor}/${name}`, import.meta.url), "utf8")
  return {
    jsonFixture: (name: string): unknown => JSON.parse(fixtureText(name)),
    sseFixture: (name: string): string[] => sseEvents(fixtureText(name)),
  }
}

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
