// Example 06 picks its provider from the environment. Offline it runs on scripted models; with
// SWITCHBOARD_COMPATIBLE_BASE_URL pointing at the loopback fake server it runs the real openai SDK
// over HTTP. Provider keys are removed for every test, so nothing here can reach a real provider.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { main } from "../examples/06-providers.ts"
import { type FakeServer, sse, startFakeServer } from "./providers/fake-server.ts"

const providerVariables = [
  "OPENAI_API_KEY",
  "OPENAI_BASE_URL",
  "OPENAI_MODEL",
  "OPENAI_SMART_MODEL",
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_BASE_URL",
  "SWITCHBOARD_COMPATIBLE_BASE_URL",
  "SWITCHBOARD_COMPATIBLE_MODEL",
] as const

beforeEach(() => {
  for (const name of providerVariables) vi.stubEnv(name, undefined)
})
afterEach(() => {
  vi.unstubAllEnvs()
})

/** Runs the example with its lines and streamed text captured instead of printed. */
const runExample = async () => {
  const lines: string[] = []
  let written = ""
  const outcome = await main({ log: (line) => lines.push(line), write: (text) => (written += text) })
  return { ...outcome, lines, written }
}

describe("example 06: providers chosen by environment", () => {
  it("runs offline on scripted models when no provider is configured, streaming the answer and pricing the calls", async () => {
    const { provider, result, streamed, written, lines, events } = await runExample()
    expect(provider).toBe("scripted")
    expect(result).toMatchObject({ status: "done", step: "answer", steps: { classify: { kind: "refund", urgency: "high" } } })
    if (result.status !== "done") return
    // The answer arrived in several deltas, and they add up to the step's output.
    expect(events.filter((event) => event.type === "model.delta").length).toBeGreaterThan(3)
    expect(streamed).toBe(result.output)
    expect(written).toBe(`answer: ${result.output}\n`)
    // 52 × $0.4 + 18 × $1.6 + 61 × $2 + 27 × $8 per million tokens, rounded by the runtime.
    expect(result.usage).toMatchObject({ calls: 2, inputTokens: 113, outputTokens: 45, unpricedCalls: 0 })
    expect(result.usage.costUsd).toBeCloseTo(0.0003876, 9)
    expect(lines.at(-1)).toBe("usage: 2 calls, 113 input tokens (0 cached), 45 output tokens, cost $0.000388")
  })

  describe("on an OpenAI-compatible server (the fake server on 127.0.0.1)", () => {
    let server: FakeServer
    beforeEach(async () => {
      server = await startFakeServer()
      vi.stubEnv("SWITCHBOARD_COMPATIBLE_BASE_URL", `${server.url}/v1`)
      vi.stubEnv("SWITCHBOARD_COMPATIBLE_MODEL", "qwen3:4b")
      // Set, but must lose to the compatible server and never be sent to it.
      vi.stubEnv("OPENAI_API_KEY", "sk-test-SECRET123456")
    })
    afterEach(async () => {
      await server.close()
    })

    const completion = (content: string, promptTokens: number, completionTokens: number) => ({
      id: "chatcmpl-local",
      object: "chat.completion",
      created: 1767225600,
      model: "qwen3:4b",
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    })
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
      id: "chatcmpl-local-stream",
      object: "chat.completion.chunk",
      created: 1767225601,
      model: "qwen3:4b",
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    })

    it("classifies through JSON-schema mode (repairing a wrong answer), streams the answer, and counts usage at the zero local price", async () => {
      const answer = ["We are sorry", " about the double charge.", " A refund is on its way."]
      server.reply(
        // Off-schema urgency: the runtime asks again with the issue.
        { kind: "json", body: completion('{"kind":"refund","urgency":"urgent","summary":"Charged twice."}', 80, 20) },
        { kind: "json", body: completion('{"kind":"refund","urgency":"high","summary":"Charged twice."}', 130, 20) },
        {
          kind: "sse",
          chunks: [
            sse(chunk({ role: "assistant", content: "" })),
            ...answer.map((text) => sse(chunk({ content: text }))),
            sse(chunk({}, "stop")),
            sse({ ...chunk({}), choices: [], usage: { prompt_tokens: 60, completion_tokens: 15, total_tokens: 75 } }),
            sse("[DONE]"),
          ],
        },
      )
      const { provider, result, streamed, events, written } = await runExample()

      expect(provider).toBe("openai-compatible")
      expect(result).toMatchObject({
        status: "done",
        step: "answer",
        output: answer.join(""),
        steps: { classify: { kind: "refund", urgency: "high", summary: "Charged twice." } },
      })
      expect(streamed).toBe(answer.join(""))
      expect(written).toBe(`answer: ${answer.join("")}\n`)
      expect(events.filter((event) => event.type === "model.repair")).toEqual([
        expect.objectContaining({ step: "classify", repair: 1, issues: [expect.objectContaining({ path: "urgency" })] }),
      ])
      expect(result.usage).toEqual({ calls: 3, inputTokens: 270, outputTokens: 55, cachedInputTokens: 0, costUsd: 0, unpricedCalls: 0 })

      expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(Array(3).fill("POST /v1/chat/completions"))
      for (const request of server.requests) {
        expect(request.headers.authorization).toBe("Bearer switchboard-no-key")
        expect(JSON.stringify(request)).not.toContain("SECRET123456")
      }
      const [classify, repair, stream] = server.requests.map((request) => request.body as Record<string, unknown>)
      expect(classify).toMatchObject({
        model: "qwen3:4b",
        messages: [
          { role: "system", content: "You triage customer support tickets." },
          { role: "user", content: expect.stringContaining("A-1042") },
        ],
        response_format: {
          type: "json_schema",
          json_schema: { name: "classify", schema: expect.objectContaining({ required: ["kind", "urgency", "summary"] }) },
        },
      })
      expect(classify).not.toHaveProperty("stream")
      expect((repair?.["messages"] as unknown[]).slice(2)).toEqual([
        { role: "assistant", content: '{"kind":"refund","urgency":"urgent","summary":"Charged twice."}' },
        { role: "user", content: expect.stringContaining("does not match the output schema") },
      ])
      expect(stream).toMatchObject({
        model: "qwen3:4b",
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 300,
        messages: [
          { role: "system", content: expect.stringContaining("support agent") },
          { role: "user", content: expect.stringContaining("(refund, high urgency)") },
        ],
      })
      expect(stream).not.toHaveProperty("response_format")
    })
  })
})
