import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { formatTimeline, fullLimit } from "../../src/cli/show-command.ts"
import type { JournalEntry } from "../../src/contract/journal.ts"
import { callTool, fn, human, type Journal, llm, maxVisits, pipeline, route, sqliteJournal, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"
import { cli, removeTemporaryFolders, temporaryFolder } from "./run-cli.ts"

const quick = { retry: { attempts: 3, initialDelay: "1ms", factor: 1, jitter: false } } as const

const lookupOrder = tool({
  name: "lookupOrder",
  input: z.object({ orderId: z.string() }),
  run: ({ orderId }) => ({ orderId, status: "shipped" }),
})

// A retry (rate-limited), an invalid answer repaired, a tool call, a priced model call.
const support = pipeline({ id: "support", input: z.object({ ticket: z.string() }) })
  .step(
    "lookup",
    callTool(lookupOrder, () => ({ orderId: "A-17" })),
  )
  .step(
    "classify",
    llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: z.object({ kind: z.enum(["refund", "bug"]) }), policy: quick }),
  )
  .step("answer", llm({ model: "fast", system: "You are support.", prompt: ({ steps }) => `Answer a ${steps.classify?.kind} ${"x".repeat(900)}` }))
  .edges({ lookup: "classify", classify: "answer", answer: "done" })

const supportModel = () =>
  scriptedModel(
    [
      { fail: "rate-limited", message: "slow down", retryAfterMs: 1 },
      { object: { kind: "banana" } },
      { object: { kind: "refund" } },
      { text: "We will refund you.", usage: { inputTokens: 1000, outputTokens: 500 } },
    ],
    { name: "gpt-test" },
  )

// A model that refuses the key (whose text holds the key): a failure that is not retried.
const failing = pipeline({ id: "failing", input: z.object({}) })
  .step("answer", llm({ model: "fast", prompt: () => "hi", policy: quick }))
  .edges({ answer: "done" })

const reviewed = pipeline({ id: "reviewed", input: z.object({}) })
  .step("review", human({ decision: z.object({ approve: z.boolean() }), prompt: () => "Approve the refund?" }))
  .edges({ review: "done" })

const looping = pipeline({ id: "looping", input: z.object({}) })
  .step("draft", llm({ model: "fast", prompt: () => "draft" }))
  .edges({ draft: { next: route(["draft", "done"], () => "draft"), stop: maxVisits(2) } })

// User code that throws an error with fields (one a credential) and a cause chain.
class UpstreamError extends Error {
  override readonly name = "UpstreamError"
  readonly status = 503
  readonly headers = { authorization: "Bearer sk-show0123456789abcdef", "x-request-id": "req_42" }
}
function callUpstream(): never {
  throw new UpstreamError("upstream answered 503", { cause: new TypeError("fetch failed", { cause: new RangeError("socket hang up") }) })
}
const crashing = pipeline({ id: "crashing", input: z.object({}) })
  .step(
    "fetch",
    fn(() => callUpstream()),
  )
  .edges({ fetch: "done" })

class RoutingBug extends Error {
  override readonly name = "RoutingBug"
}
const misrouted = pipeline({ id: "misrouted", input: z.object({}) })
  .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
  .edges({
    review: route(["done"], () => {
      throw new RoutingBug("no route for this decision")
    }),
  })

// Fields named like secrets in the run input and a step's output: journaled exactly (a resume
// replays them), masked wherever the run is shown.
const keyed = pipeline({ id: "keyed", input: z.object({ account: z.object({ apiKey: z.string() }) }) })
  .step(
    "login",
    fn(() => ({ sessionToken: "tok-show-secret-0123456789", user: "dana" })),
  )
  .edges({ login: "done" })

let database = ""
const runIds = {
  keyed: "run-keyed",
  support: "run-support",
  failing: "run-failing",
  reviewed: "run-reviewed",
  looping: "run-looping",
  crashing: "run-crashing",
  misrouted: "run-misrouted",
}
let supportEntries: readonly JournalEntry[] = []

beforeAll(async () => {
  database = join(temporaryFolder(), "runs.db")
  const journal = sqliteJournal({ path: database })
  const asJournal: Journal = journal
  const prices = { "scripted:gpt-test": { input: 2, output: 10 } }
  expect(await support.run({ ticket: "refund please" }, { models: { fast: supportModel() }, journal: asJournal, runId: runIds.support, prices })).toMatchObject(
    { status: "done" },
  )
  const refused = scriptedModel([{ fail: "authentication", message: "invalid key sk-live1234567890abcdef" }])
  expect(await failing.run({}, { models: { fast: refused }, journal: asJournal, runId: runIds.failing })).toMatchObject({ status: "failed" })
  expect(await reviewed.run({}, { journal: asJournal, runId: runIds.reviewed })).toMatchObject({ status: "awaiting-human" })
  expect(await looping.run({}, { models: { fast: scriptedModel(["v1", "v2"]) }, journal: asJournal, runId: runIds.looping })).toMatchObject({
    status: "stopped",
  })
  expect(await crashing.run({}, { journal: asJournal, runId: runIds.crashing })).toMatchObject({ status: "failed" })
  expect(await misrouted.run({}, { journal: asJournal, runId: runIds.misrouted })).toMatchObject({ status: "awaiting-human" })
  expect(await misrouted.decide(runIds.misrouted, "review", { approve: true }, { journal: asJournal })).toMatchObject({ status: "failed" })
  expect(await keyed.run({ account: { apiKey: "key-show-secret-0123456789" } }, { journal: asJournal, runId: runIds.keyed })).toMatchObject({ status: "done" })
  supportEntries = await journal.read(runIds.support)
  journal.close()
})

afterAll(removeTemporaryFolders)

const show = (...args: string[]) => cli("show", ...args, "--journal", `sqlite:${database}`)

describe("switchboard show", () => {
  it("masks fields named like secrets in the run input and step outputs, in the timeline and in --json", async () => {
    for (const args of [
      [runIds.keyed, "--full"],
      [runIds.keyed, "--json"],
    ]) {
      const { code, stdout } = await show(...args)
      expect(code).toBe(0)
      expect(stdout).not.toContain("show-secret")
      expect(stdout).toContain("dana")
    }
    expect((await show(runIds.keyed, "--json")).stdout).toContain("[redacted]")
  })

  it("prints each visit with its retries, repair, model and tool calls, tokens, cost and route", async () => {
    const { code, stdout, stderr } = await show(runIds.support)
    expect(stderr).toBe("")
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^run run-support · support · done in \d+(ms|\.\ds) · 1000 in \/ 500 out tokens · \$0\.0070 · started \d{4}-/)
    expect(lines).toContainEqual(expect.stringMatching(/^ +\+\d+ms {2}lookup {2}\d+ms {2}→ classify$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +tool lookupOrder \d+ms$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +\+\d+ms {2}classify {2}\d+ms, 2 attempts {2}→ answer$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +model scripted\/gpt-test \d+ms, error ModelError \(rate-limited\): slow down$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +↻ attempt 1 failed: ModelError \(rate-limited\): slow down; retried in \d+ms$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +repair 1: kind: .+$/))
    expect(lines).toContainEqual(expect.stringMatching(/^ +\+\d+ms {2}answer {2}\d+ms, 1000 in \/ 500 out tokens, \$0\.0070 {2}→ done$/))
    expect(lines.at(-1)).toMatch(/^■ done after \d+ms$/)
    // Prompts and responses only with --full.
    expect(stdout).not.toContain("Classify: refund please")
    expect(stdout).not.toContain("We will refund you.")
  })

  it("with --full, prints prompts, responses and outputs, each cut to 500 characters", async () => {
    const { code, stdout } = await show(runIds.support, "--full")
    expect(code).toBe(0)
    expect(stdout).toContain('  input: {"ticket":"refund please"}')
    expect(stdout).toMatch(/ {13}user: Classify: refund please\n/)
    expect(stdout).toMatch(/ {13}response: We will refund you\.\n/)
    expect(stdout).toMatch(/ {11}output: {"kind":"refund"}\n/)
    const longPrompt = stdout.split("\n").find((line) => line.includes("user: Answer a refund")) as string
    expect(longPrompt).toMatch(/… \(\d+ more characters\)$/)
    expect(longPrompt.length).toBeLessThan(fullLimit + 60)
  })

  it("ends a failed run with the error's tag, reason and message, secrets masked", async () => {
    const { code, stdout } = await show(runIds.failing)
    expect(code).toBe(0)
    expect(stdout).toContain("✗ ModelError (authentication): invalid key sk-***")
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/^■ failed at answer after \d+ms: ModelError \(authentication\): invalid key sk-\*\*\*$/)
    expect(stdout).not.toContain("live1234567890")
  })

  it("with --full, prints what a failure kept of the thrown error: name, fields, stack frames and causes", async () => {
    const { code, stdout } = await show(runIds.crashing, "--full")
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split("\n")
    const failed = lines.findIndex((line) => line.trim() === "✗ StepCodeError: upstream answered 503")
    expect(failed).toBeGreaterThan(0)
    const evidence = lines.slice(failed + 1, -1)
    expect(evidence[0]).toBe("             name: UpstreamError")
    expect(evidence[1]).toMatch(/^ {13}fields: \{"status":503,"headers":\{"authorization":"[^"]+","x-request-id":"req_42"\}\}$/)
    // The first frame is the line that threw.
    expect(evidence[2]).toMatch(/^ {13}at callUpstream \(.*show\.test\.ts:\d+:\d+\)$/)
    expect(evidence).toContainEqual("             caused by TypeError: fetch failed")
    expect(evidence).toContainEqual("               caused by RangeError: socket hang up")
    expect(evidence.findIndex((line) => line.includes("caused by TypeError"))).toBeLessThan(evidence.findIndex((line) => line.includes("caused by RangeError")))
    expect(stdout).not.toContain("sk-show0123456789")
    // Printed under the failed step, not again under the ending.
    expect(lines.at(-1)).toMatch(/^■ failed at fetch after \d+ms: StepCodeError: upstream answered 503$/)
    expect(lines.filter((line) => line.includes("name: UpstreamError"))).toHaveLength(1)
    // Without --full, the one line.
    const brief = await show(runIds.crashing)
    expect(brief.stdout).toContain("✗ StepCodeError: upstream answered 503")
    expect(brief.stdout).not.toContain("callUpstream")
  })

  it("with --full, prints the error of a route that threw on a human decision, with its class name", async () => {
    const { code, stdout } = await show(runIds.misrouted, "--full")
    expect(code).toBe(0)
    expect(stdout).toMatch(/ {11}✗ StepCodeError: route of "review" threw: no route for this decision\n {13}name: RoutingBug\n {13}at .*show\.test\.ts:\d+:\d+/)
    expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/^■ failed at review after \d+ms: StepCodeError: route of "review" threw: no route for this decision$/)
    expect(stdout).not.toContain("Unable to evaluate guard")
  })

  it("shows a human wait, and the stop rule that ended a loop", async () => {
    const waiting = await show(runIds.reviewed, "--full")
    expect(waiting.stdout).toMatch(
      / +\+\d+ms {2}review {2}waiting\n +⏸ waits for a human decision\n +prompt: Approve the refund\?\n■ awaiting a human decision on review\n$/,
    )
    const stopped = await show(runIds.looping)
    expect(stopped.stdout).toMatch(/draft #2 {2}\d+ms {2}→ stopped\n +model scripted\/scripted \d+ms\n■ stopped at draft by maxVisits\(2\) after \d+ms\n$/)
  })

  it("prints the trace and the raw entries with --json", async () => {
    const { code, stdout } = await show(runIds.support, "--json")
    expect(code).toBe(0)
    const parsed = JSON.parse(stdout) as {
      trace: { status: string; visits: Array<{ step: string; attempts: number }>; visited: string[] }
      entries: JournalEntry[]
    }
    expect(parsed.trace.status).toBe("done")
    expect(parsed.trace.visits.map((visit) => [visit.step, visit.attempts])).toEqual([
      ["lookup", 1],
      ["classify", 2],
      ["answer", 1],
    ])
    expect(parsed.trace.visited).toContain("done")
    expect(parsed.entries.map((entry) => entry.type)).toEqual(supportEntries.map((entry) => entry.type))
  })

  it("exits 2 for an unknown run, and for a missing journal", async () => {
    const unknown = await show("no-such-run")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(`switchboard: run no-such-run is not in the journal sqlite:${database}`)
    const memory = await cli("show", "run-support", "--journal", "memory")
    expect(memory.code).toBe(2)
    expect(memory.stderr).toContain("show needs the runs' journal")
  })
})

describe("formatTimeline", () => {
  const at = 1_700_000_000_000
  const entries: JournalEntry[] = [
    { seq: 0, type: "run.started", runId: "r1", pipeline: "triage", input: { ticket: "t" }, at },
    { seq: 1, type: "step.started", runId: "r1", step: "classify", visit: 1, at: at + 5 },
    {
      seq: 2,
      type: "model.called",
      runId: "r1",
      step: "classify",
      visit: 1,
      provider: "openai",
      model: "gpt-5-mini",
      messages: [{ role: "user", content: "Classify t" }],
      response: { text: "{}", finishReason: "stop" },
      usage: { inputTokens: 12, outputTokens: 4 },
      durationMs: 840,
      at: at + 845,
    },
    {
      seq: 3,
      type: "step.finished",
      runId: "r1",
      step: "classify",
      visit: 1,
      output: {},
      next: "review",
      attempts: 1,
      durationMs: 850,
      usage: { inputTokens: 12, outputTokens: 4, cachedInputTokens: 0, costUsd: 0.0123, calls: 1, unpricedCalls: 0 },
      at: at + 855,
    },
    { seq: 4, type: "route.taken", runId: "r1", from: "classify", to: "review", at: at + 855 },
    { seq: 5, type: "human.waiting", runId: "r1", step: "review", visit: 1, deadline: Date.UTC(2030, 0, 1), at: at + 860 },
    { seq: 6, type: "human.expired", runId: "r1", step: "review", visit: 1, at: at + 2_400 },
    { seq: 7, type: "route.taken", runId: "r1", from: "review", to: "answer", at: at + 2_400 },
    { seq: 8, type: "step.started", runId: "r1", step: "answer", visit: 1, at: at + 2_410 },
    {
      seq: 9,
      type: "tool.called",
      runId: "r1",
      step: "answer",
      visit: 1,
      tool: "send",
      args: {},
      error: { _tag: "ToolError", step: "answer", tool: "send", reason: "failed", retryable: false, message: "smtp down" },
      durationMs: 30,
      at: at + 2_440,
    },
    {
      seq: 10,
      type: "step.failed",
      runId: "r1",
      step: "answer",
      visit: 1,
      error: { _tag: "ToolError", step: "answer", tool: "send", reason: "failed", retryable: false, message: "smtp down" },
      attempts: 1,
      durationMs: 40,
      at: at + 2_450,
    },
    {
      seq: 11,
      type: "run.finished",
      runId: "r1",
      status: "failed",
      durationMs: 2_460,
      error: { _tag: "ToolError", step: "answer", tool: "send", reason: "failed", retryable: false, message: "smtp down" },
      at: at + 2_460,
    },
  ]

  it("tells the truth: a run awaiting a person, wall-clock time, waits as waits, agent turns as turns, unpriced calls", () => {
    const usage = (unpricedCalls: number) => ({ inputTokens: 10, outputTokens: 2, cachedInputTokens: 0, costUsd: 0, calls: 1, unpricedCalls })
    const turn = (seq: number, number: number) =>
      ({
        seq,
        type: "agent.turned",
        runId: "r2",
        step: "refund",
        visit: 1,
        turn: number,
        text: "",
        toolCalls: [],
        usage: usage(1),
        elapsedMs: 10,
        at: at + seq,
      }) as const
    const paused: JournalEntry[] = [
      { seq: 0, type: "run.started", runId: "r2", pipeline: "support", input: {}, at },
      { seq: 1, type: "step.started", runId: "r2", step: "refund", visit: 1, at: at + 1 },
      turn(2, 1),
      turn(3, 2),
      turn(4, 3),
      {
        seq: 5,
        type: "step.finished",
        runId: "r2",
        step: "refund",
        visit: 1,
        output: {},
        next: "review",
        attempts: 3,
        durationMs: 30,
        usage: { ...usage(3), calls: 3 },
        at: at + 31,
      },
      { seq: 6, type: "human.waiting", runId: "r2", step: "review", visit: 1, at: at + 40 },
    ]
    const waiting = formatTimeline(paused, { full: false })
    expect(waiting[0]).toBe("run r2 · support · awaiting-human · 10 in / 2 out tokens · cost unpriced (3 unpriced calls) · started 2023-11-14T22:13:20.000Z")
    expect(waiting[1]).toBe("     +1ms  refund  30ms, 3 turns, 10 in / 2 out tokens, cost unpriced (3 unpriced calls)  → review")
    // Decided 16 s later by another process, whose own execution took 70ms.
    const decided: JournalEntry[] = [
      ...paused,
      { seq: 7, type: "human.decided", runId: "r2", step: "review", visit: 1, decision: {}, at: at + 16_000 },
      { seq: 8, type: "route.taken", runId: "r2", from: "review", to: "done", at: at + 16_000 },
      { seq: 9, type: "run.finished", runId: "r2", status: "done", durationMs: 70, at: at + 16_070 },
    ]
    const done = formatTimeline(decided, { full: false })
    expect(done[0]).toMatch(/^run r2 · support · done in 16\.1s · /)
    expect(done.find((line) => line.includes(" review "))).toMatch(/review {2}waited 16\.0s, decided {2}→ done$/)
    expect(done.at(-1)).toBe("■ done after 16.1s")
  })

  it("lays out a run: offsets, durations, tokens and cost, calls, a wait that expired, the failure", () => {
    expect(formatTimeline(entries, { full: false })).toEqual([
      `run r1 · triage · failed in 2.5s · 12 in / 4 out tokens · $0.0123 · started ${new Date(at).toISOString()}`,
      "     +5ms  classify  850ms, 12 in / 4 out tokens, $0.0123  → review",
      "           model openai/gpt-5-mini 840ms, 12 in / 4 out tokens, finish stop",
      "   +860ms  review  waited 1.5s, expired  → answer",
      "           ⏸ waits for a human decision until 2030-01-01T00:00:00.000Z",
      "           ⌛ expired at +2.4s without a decision",
      "    +2.4s  answer  40ms, failed",
      "           tool send 30ms, error ToolError (failed): smtp down",
      "           ✗ ToolError (failed): smtp down",
      "■ failed at answer after 2.5s: ToolError (failed): smtp down",
    ])
  })

  it("adds the prompt and the response with full", () => {
    const lines = formatTimeline(entries, { full: true })
    expect(lines).toContain("             user: Classify t")
    expect(lines).toContain("             response: {}")
    expect(lines).toContain('  input: {"ticket":"t"}')
  })
})
