import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { llm, pipeline, type RunEvent } from "../../../src/index.ts"
import { type FakeServer, startFakeServer } from "../fake-server.ts"
import { jsonFixture, modelFor, secretKey, sseFixture } from "./helpers.ts"

let server: FakeServer
beforeEach(async () => {
  server = await startFakeServer()
})
afterEach(async () => {
  await server.close()
})

const Kind = z.object({ kind: z.enum(["refund", "bug", "other"]), confidence: z.number() })
const triage = pipeline({ id: "triage", input: z.object({ ticket: z.string() }) })
  .step(
    "classify",
    llm({
      model: "smart",
      system: "You sort support tickets.",
      prompt: ({ input }) => `Classify: ${input.ticket}`,
      output: Kind,
      policy: { retry: { attempts: 3, initialDelay: "10ms", jitter: false } },
    }),
  )
  .edges({ classify: "done" })

const structured = (input: unknown) => ({
  kind: "json" as const,
  body: { ...(jsonFixture("message-structured.json") as object), content: [{ type: "tool_use", id: "toolu_1", name: "classify", input }] },
})

describe("anthropic in a pipeline", () => {
  it("an llm step with a zod output runs on Anthropic and returns the validated object", async () => {
    server.reply(structured({ kind: "refund", confidence: 0.92 }))
    const result = await triage.run({ ticket: "I want my money back" }, { models: { smart: modelFor(server) } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.92 } })
    expect(server.requests[0]?.body).toMatchObject({
      system: [{ type: "text", text: "You sort support tickets.", cache_control: { type: "ephemeral" } }],
      messages: [{ role: "user", content: [{ type: "text", text: "Classify: I want my money back", cache_control: { type: "ephemeral" } }] }],
      tool_choice: { type: "tool", name: "classify" },
    })
  })

  it("retries a 529 overloaded answer, then succeeds", async () => {
    server.reply({ kind: "json", status: 529, body: jsonFixture("error-overloaded.json") }, structured({ kind: "bug", confidence: 0.8 }))
    const events: RunEvent[] = []
    const result = await triage.run({ ticket: "It crashes" }, { models: { smart: modelFor(server) }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: { kind: "bug" } })
    expect(server.requests).toHaveLength(2)
    expect(events.filter((event) => event.type === "step.retried")).toHaveLength(1)
  })

  it("an answer that does not match the schema is asked again", async () => {
    server.reply(structured({ kind: "refund" }), structured({ kind: "refund", confidence: 0.7 }))
    const result = await triage.run({ ticket: "Money back" }, { models: { smart: modelFor(server) } })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.7 } })
    expect(server.requests).toHaveLength(2)
  })

  it("a 401 fails the run without a retry, and the key appears in no event or result", async () => {
    const echoed = { type: "error", error: { type: "authentication_error", message: `invalid x-api-key: ${secretKey}` } }
    server.reply({ kind: "json", status: 401, body: echoed })
    const events: RunEvent[] = []
    const result = await triage.run({ ticket: "Hello" }, { models: { smart: modelFor(server) }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "ModelError", provider: "anthropic", reason: "authentication", retryable: false, status: 401 },
    })
    expect(server.requests).toHaveLength(1)
    expect(JSON.stringify([result, events])).not.toContain("SECRET123456")
  })

  it("a streaming step reports model.delta events, and a reset mid-stream is retried as a network error", async () => {
    const streamingTriage = pipeline({ id: "streaming-triage", input: z.object({ ticket: z.string() }) })
      .step(
        "classify",
        llm({
          model: "smart",
          prompt: ({ input }) => `Classify: ${input.ticket}`,
          output: Kind,
          stream: true,
          policy: { retry: { attempts: 2, initialDelay: "10ms", jitter: false }, idleTimeout: "1s" },
        }),
      )
      .edges({ classify: "done" })
    const structuredStream = sseFixture("stream-structured.sse")
    server.reply({ kind: "sse", chunks: [...structuredStream.slice(0, 3), { pauseMs: 10 }], end: "reset" }, { kind: "sse", chunks: structuredStream })
    const events: RunEvent[] = []
    const result = await streamingTriage.run({ ticket: "Money back" }, { models: { smart: modelFor(server) }, onEvent: (event) => events.push(event) })
    expect(result).toMatchObject({ status: "done", output: { kind: "refund", confidence: 0.92 } })
    expect(server.requests).toHaveLength(2)
    expect(server.requests.map((request) => (request.body as { stream?: boolean }).stream)).toEqual([true, true])
    const retried = events.find((event) => event.type === "step.retried")
    expect(retried).toMatchObject({ error: { reason: "network" } })
    const deltas = events.flatMap((event) => (event.type === "model.delta" ? [event.text] : []))
    expect(JSON.parse(deltas.slice(-3).join(""))).toEqual({ kind: "refund", confidence: 0.92 })
  })
})
