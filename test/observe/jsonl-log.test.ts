import { mkdtemp, readFile, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { jsonlLog, llm, pipeline, type RunEvent, type RunOptions } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"
import { apiKey, bearer, password, runWithFakeTime, support, supportInput, supportModel } from "./support-pipeline.ts"

const prices = { "scripted:gpt-test": { input: 1, output: 2 } }

/** Runs the support pipeline with the given observers; returns what `onEvent` saw too. */
const runSupport = async (observers: RunOptions["observers"]) => {
  const seen: RunEvent[] = []
  const result = await runWithFakeTime(() =>
    support.run(supportInput, {
      models: { fast: supportModel() },
      redact: { keys: ["password"] },
      prices,
      onEvent: (event) => seen.push(event),
      ...(observers === undefined ? {} : { observers }),
    }),
  )
  return { result, seen }
}

const parse = (lines: readonly string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown> & { type: string; at: number; time: string })

describe("jsonlLog", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-03-01T10:00:00.000Z") })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("writes one JSON line per event, in order, with times, attempts, routes, tokens and cost", async () => {
    const lines: string[] = []
    const { result, seen } = await runSupport([jsonlLog({ write: (line) => lines.push(line) })])
    expect(result.status).toBe("done")
    expect(lines.every((line) => !line.includes("\n"))).toBe(true)
    const logged = parse(lines)
    expect(logged.map((entry) => entry.type)).toEqual(seen.map((event) => event.type))
    expect(logged[0]).toMatchObject({ type: "run.started", pipeline: "support", time: "2026-03-01T10:00:00.000Z" })
    for (const entry of logged) expect(entry.time).toBe(new Date(entry.at).toISOString())
    expect(logged.map((entry) => entry.at)).toEqual([...logged.map((entry) => entry.at)].sort((a, b) => a - b))

    expect(logged.filter((entry) => entry.type === "route.taken")).toMatchObject([
      { from: "lookup", to: "answer" },
      { from: "answer", to: "done" },
    ])
    expect(logged.find((entry) => entry.type === "tool.called")).toMatchObject({
      tool: "lookupOrder",
      args: { orderId: "A-1", password: "[redacted]" },
      result: { status: "shipped" },
    })
    expect(logged.find((entry) => entry.type === "step.retried")).toMatchObject({
      step: "answer",
      attempt: 1,
      delayMs: 100,
      error: { reason: "server", status: 500 },
    })
    const calls = logged.filter((entry) => entry.type === "model.called")
    expect(calls).toMatchObject([
      { durationMs: 40, error: { reason: "server" } },
      { durationMs: 25, usage: { inputTokens: 42, outputTokens: 7 }, response: { text: "Your parcel is on its way.", finishReason: "stop" } },
    ])
    expect(calls[1]?.["messages"]).toEqual([
      { role: "system", content: "You are support." },
      { role: "user", content: "Order shipped. Customer (key sk-***) asks: Where is my parcel?" },
    ])
    const answered = logged.find((entry) => entry.type === "step.finished" && entry["step"] === "answer")
    // 40 ms failed call + 100 ms backoff + 25 ms answer
    expect(answered).toMatchObject({
      attempts: 2,
      durationMs: 165,
      next: "done",
      usage: { inputTokens: 42, outputTokens: 7, calls: 1, costUsd: (42 * 1 + 7 * 2) / 1e6 },
    })
    expect(logged.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
    expect(logged.at(-1)?.["durationMs"]).toBeGreaterThanOrEqual(165)
  })

  it("never logs an API key, a bearer token or a field marked for redaction", async () => {
    const lines: string[] = []
    await runSupport([jsonlLog({ write: (line) => lines.push(line) })])
    const text = lines.join("\n")
    expect(text).toContain("sk-***")
    expect(text).toContain("Bearer ***")
    expect(text).toContain("[redacted]")
    for (const secret of [apiKey, password, bearer, bearer.slice("Bearer ".length)]) expect(text).not.toContain(secret)
    expect(text).not.toMatch(/sk-[A-Za-z0-9_-]{8,}/)
    expect(text).not.toMatch(/Bearer\s+(?!\*\*\*)\S{8,}/)
  })

  it("cuts long strings at `truncate` characters and marks the cut", async () => {
    const lines: string[] = []
    await runSupport([jsonlLog({ write: (line) => lines.push(line) }, { truncate: 20 })])
    const logged = parse(lines)
    const prompt = (logged.filter((entry) => entry.type === "model.called")[1]?.["messages"] as Array<{ content: string }>)[1]?.content
    const full = "Order shipped. Customer (key sk-***) asks: Where is my parcel?"
    expect(prompt).toBe(`${full.slice(0, 20)}…[truncated ${full.length - 20} chars]`)
    // numbers and short strings are kept as they are
    expect(logged.find((entry) => entry.type === "step.finished" && entry["step"] === "answer")).toMatchObject({ attempts: 2, durationMs: 165, step: "answer" })
  })

  it("skips streamed text chunks unless asked for them", async () => {
    const streamed = pipeline({ id: "streamed", input: z.object({ question: z.string() }) })
      .step("answer", llm({ model: "fast", prompt: ({ input }) => input.question, stream: true }))
      .edges({ answer: "done" })
    const quiet: string[] = []
    const chatty: string[] = []
    await runWithFakeTime(() =>
      streamed.run(
        { question: "?" },
        {
          models: { fast: scriptedModel(["three short words"]) },
          observers: [jsonlLog({ write: (line) => quiet.push(line) }), jsonlLog({ write: (line) => chatty.push(line) }, { deltas: true })],
        },
      ),
    )
    expect(parse(quiet).some((entry) => entry.type === "model.delta")).toBe(false)
    expect(
      parse(chatty)
        .filter((entry) => entry.type === "model.delta")
        .map((entry) => entry["text"]),
    ).toEqual(["three ", "short ", "words"])
    expect(chatty.length - quiet.length).toBe(3)
  })

  it("appends every line to a file, complete when the run settles", async () => {
    const directory = await mkdtemp(join(tmpdir(), "switchboard-log-"))
    try {
      const path = join(directory, "run.jsonl")
      const log = jsonlLog({ path })
      const first = await runSupport([log])
      const second = await runSupport([log])
      // read before close: nothing is held back in a buffer
      const text = await readFile(path, "utf8")
      log.close()
      log.close()
      expect(text.endsWith("\n")).toBe(true)
      const logged = parse(text.trimEnd().split("\n"))
      expect(logged).toHaveLength(first.seen.length + second.seen.length)
      expect(logged.filter((entry) => entry.type === "run.finished").map((entry) => entry["runId"])).toEqual([first.result.runId, second.result.runId])
      // after close, events are dropped instead of reopening the file
      await runSupport([log])
      expect(await readFile(path, "utf8")).toBe(text)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })

  it("creates no file for a log that saw no event", async () => {
    const directory = await mkdtemp(join(tmpdir(), "switchboard-log-"))
    try {
      jsonlLog({ path: join(directory, "unused.jsonl") }).close()
      await expect(readFile(join(directory, "unused.jsonl"), "utf8")).rejects.toThrow(/ENOENT/)
    } finally {
      await rm(directory, { recursive: true, force: true })
    }
  })
})
