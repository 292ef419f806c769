import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { DecisionError, fn, human, type Journal, map, memoryJournal, parallel, pipeline, postgresJournal, sqliteJournal, subpipeline } from "../../src/index.ts"
import { dropSchemas, freshSchema, locatePostgres } from "../stores/postgres.ts"

const Verdict = z.object({ approve: z.boolean(), note: z.string().optional() })

const directory = mkdtempSync(join(tmpdir(), "human-fanout-"))
const server = await locatePostgres()
const schemas: string[] = []
const opened: Array<{ close: () => unknown }> = []
afterAll(async () => {
  for (const journal of opened) await journal.close()
  if (server.available) await dropSchemas(server.url, schemas)
  rmSync(directory, { recursive: true, force: true })
})
let databases = 0
const stores: ReadonlyArray<readonly [string, () => Journal]> = [
  ["memory", () => memoryJournal()],
  ["sqlite", () => sqliteJournal({ path: join(directory, `runs-${databases++}.db`) })],
  ...(server.available
    ? [
        [
          "postgres",
          () => {
            const schema = freshSchema()
            schemas.push(schema)
            const journal = postgresJournal({ connectionString: server.url, schema, connectTimeoutMs: 2000 })
            opened.push(journal)
            return journal
          },
        ] as const,
      ]
    : []),
]

// Two reviewers in parallel, then a step that reads both verdicts.
const twoReviewers = () =>
  pipeline({ id: "two-reviewers", input: z.object({ doc: z.string() }) })
    .step(
      "review",
      parallel({
        branches: {
          legal: human({ decision: Verdict, prompt: ({ input }) => `Legal review of ${(input as { doc: string }).doc}` }),
          tech: human({ decision: Verdict }),
        },
      }),
    )
    .step(
      "publish",
      fn(({ steps }) => (steps.review?.legal.approve === true && steps.review.tech.approve === true ? "published" : "held")),
    )
    .edges({ review: "publish", publish: "done" })

// Each refund of the batch is approved or rejected by a person.
const refunds = () =>
  pipeline({ id: "refunds", input: z.object({ amounts: z.array(z.number()) }) })
    .step(
      "approve",
      map({ over: ({ input }) => input.amounts, each: human({ decision: Verdict, prompt: ({ input }: { input: number }) => `Refund ${input}?` }) }),
    )
    .step(
      "total",
      fn(({ steps, input }) => input.amounts.filter((_, index) => steps.approve?.[index]?.approve === true).reduce((sum, amount) => sum + amount, 0)),
    )
    .edges({ approve: "total", total: "done" })

describe.each(stores)("human steps inside fan-out (%s)", (_name, open) => {
  it("pauses on both parallel branches and takes their decisions one at a time, in either order", async () => {
    for (const order of [
      ["review.legal", "review.tech"],
      ["review.tech", "review.legal"],
    ] as const) {
      const journal = open()
      const paused = await twoReviewers().run({ doc: "terms" }, { journal })
      expect(paused).toMatchObject({ status: "awaiting-human", step: "review", deadline: null })
      if (paused.status !== "awaiting-human") throw new Error("not paused")
      expect(paused.pending?.map((wait) => wait.path).sort()).toEqual(["review.legal", "review.tech"])
      expect(paused.pending?.find((wait) => wait.path === "review.legal")).toMatchObject({
        step: "review",
        visit: 1,
        prompt: "Legal review of terms",
        deadline: null,
        decision: { type: "object", properties: { approve: { type: "boolean" } } },
      })
      const first = await twoReviewers().decide(paused.runId, order[0], { approve: true }, { journal })
      expect(first.status).toBe("awaiting-human")
      if (first.status !== "awaiting-human") throw new Error("not paused")
      expect(first.pending?.map((wait) => wait.path)).toEqual([order[1]])
      const done = await twoReviewers().decide(paused.runId, order[1], { approve: true }, { journal })
      expect(done).toMatchObject({ status: "done", output: "published" })
      const entries = await journal.read(paused.runId)
      expect(entries.filter((entry) => entry.type === "human.decided").map((entry) => (entry as { step: string }).step)).toEqual([...order])
    }
  })

  it("pauses every item of a map and takes all their decisions in one batch", async () => {
    const journal = open()
    const paused = await refunds().run({ amounts: [10, 20, 30] }, { journal })
    if (paused.status !== "awaiting-human") throw new Error(`not paused: ${paused.status}`)
    expect(paused.pending?.map((wait) => [wait.path, wait.prompt])).toEqual([
      ["approve[0]", "Refund 10?"],
      ["approve[1]", "Refund 20?"],
      ["approve[2]", "Refund 30?"],
    ])
    const done = await refunds().decide(
      paused.runId,
      { "approve[0]": { approve: true }, "approve[1]": { approve: false }, "approve[2]": { approve: true } },
      { journal },
    )
    expect(done).toMatchObject({ status: "done", output: 40 })
  })

  it("refuses a batch with one invalid decision, naming its address, and applies none of it", async () => {
    const journal = open()
    const paused = await refunds().run({ amounts: [10, 20] }, { journal })
    const before = (await journal.read(paused.runId)).length
    const refusal = (decisions: Record<string, unknown>) =>
      refunds()
        .decide(paused.runId, decisions, { journal })
        .then(
          () => undefined,
          (error: unknown) => error,
        )
    const invalid = await refusal({ "approve[0]": { approve: true }, "approve[1]": { approve: "yes" } })
    expect(invalid).toBeInstanceOf(DecisionError)
    expect(invalid).toMatchObject({ reason: "invalid-decision", message: expect.stringContaining('"approve[1]"') })
    expect(await refusal({ "approve[0]": { approve: true }, "approve[7]": { approve: true } })).toMatchObject({
      reason: "not-waiting",
      message: expect.stringContaining('"approve[7]"'),
    })
    expect(await refusal({ "approve[0]": { approve: true }, total: { approve: true } })).toMatchObject({ reason: "not-waiting" })
    expect((await journal.read(paused.runId)).length).toBe(before)
    // Decided once: a second decision for the same address is refused, the run unchanged.
    const half = await refunds().decide(paused.runId, "approve[0]", { approve: true }, { journal })
    expect(half.status).toBe("awaiting-human")
    const after = (await journal.read(paused.runId)).length
    expect(await refusal({ "approve[0]": { approve: false } })).toMatchObject({ reason: "not-waiting", message: expect.stringContaining('"approve[0]"') })
    expect((await journal.read(paused.runId)).length).toBe(after)
    expect(await refunds().decide(paused.runId, "approve[1]", { approve: true }, { journal })).toMatchObject({ status: "done", output: 30 })
  })

  it("lets a slow sibling finish while a branch waits, and does not run it again on resume", async () => {
    let slowRuns = 0
    const slowBeside = () =>
      pipeline({ id: "slow-beside", input: z.object({}) })
        .step(
          "work",
          parallel({
            branches: {
              approve: human({ decision: Verdict }),
              crunch: fn(async () => {
                slowRuns++
                await new Promise((resolve) => setTimeout(resolve, 60))
                return 42
              }),
            },
          }),
        )
        .step(
          "report",
          fn(({ steps }) => `${steps.work?.approve.approve}:${steps.work?.crunch}`),
        )
        .edges({ work: "report", report: "done" })
    const journal = open()
    const paused = await slowBeside().run({}, { journal })
    if (paused.status !== "awaiting-human") throw new Error("not paused")
    // The run paused only once the sibling had finished: its output is journaled.
    expect(slowRuns).toBe(1)
    const entries = await journal.read(paused.runId)
    expect(entries.some((entry) => entry.type === "step.finished" && entry.step === "work.crunch")).toBe(true)
    expect(paused.pending?.map((wait) => wait.path)).toEqual(["work.approve"])
    expect(await slowBeside().decide(paused.runId, "work.approve", { approve: true }, { journal })).toMatchObject({ status: "done", output: "true:42" })
    expect(slowRuns).toBe(1)
  })
})

describe("human steps inside fan-out, live", () => {
  it("takes decisions by address through the handle while siblings run", async () => {
    const handle = refunds().start({ amounts: [5, 6] })
    for await (const event of handle.events) {
      if (event.type === "human.waiting" && event.step === "approve[1]") {
        expect(() => handle.send("approve[9]", { approve: true })).toThrow(DecisionError)
        expect(() => handle.send("approve[1]", { approve: 1 })).toThrow(/"approve\[1\]"/)
        handle.send("approve[1]", { approve: true })
        handle.send("approve[0]", { approve: false })
      }
    }
    expect(await handle.result).toMatchObject({ status: "done", output: 6 })
  })
})

describe.each(stores)("human steps inside nested pipelines (%s)", (_name, open) => {
  // Each order asks a person inside its own sub-pipeline; a decision by its address continues that order only.
  const orderChild = pipeline({ id: "order-approval", input: z.object({ order: z.string() }) })
    .step("approve", human({ decision: Verdict, prompt: ({ input }) => `Ship ${input.order}?` }))
    .step(
      "ship",
      fn(({ input, steps }) => (steps.approve?.approve === true ? `shipped ${input.order}` : `held ${input.order}`)),
    )
    .edges({ approve: "ship", ship: "done" })
  const orders = () =>
    pipeline({ id: "orders", input: z.object({ orders: z.array(z.string()) }) })
      .step("each", map({ over: ({ input }) => input.orders, each: subpipeline(orderChild, { input: ({ input }: { input: string }) => ({ order: input }) }) }))
      .edges({ each: "done" })

  it("pauses on an approval inside a nested pipeline inside a map, by the address of the child's step", async () => {
    const journal = open()
    const paused = await orders().run({ orders: ["a", "b"] }, { journal })
    if (paused.status !== "awaiting-human") throw new Error(`not paused: ${paused.status}`)
    expect(paused.pending?.map((wait) => [wait.path, wait.prompt])).toEqual([
      ["each[0].approve", "Ship a?"],
      ["each[1].approve", "Ship b?"],
    ])
    expect(paused.pending?.[0]?.decision).toMatchObject({ type: "object" })
    const half = await orders().decide(paused.runId, "each[1].approve", { approve: false }, { journal })
    if (half.status !== "awaiting-human") throw new Error(`not paused: ${half.status}`)
    expect(half.pending?.map((wait) => wait.path)).toEqual(["each[0].approve"])
    const entries = await journal.read(paused.runId)
    expect(entries.some((entry) => entry.type === "step.finished" && entry.step === "each[1].ship")).toBe(true)
    expect(await orders().decide(paused.runId, { "each[0].approve": { approve: true } }, { journal })).toMatchObject({
      status: "done",
      output: ["shipped a", "held b"],
    })
  })
})

describe("deadlines of waits inside fan-out", () => {
  // Two refunds: a person has 200 ms for each; an expired one is a failed item, the others stand.
  const timedRefunds = () =>
    pipeline({ id: "timed-refunds", input: z.object({ amounts: z.array(z.number()) }) })
      .step(
        "approve",
        map({
          over: ({ input }) => input.amounts,
          each: human({ decision: Verdict, timeout: "200ms", prompt: ({ input }: { input: number }) => `Refund ${input}?` }),
          onItemError: "collect",
        }),
      )
      .step(
        "outcome",
        fn(({ steps }) => (steps.approve ?? []).map((item) => (item.ok ? (item.value.approve ? "approved" : "rejected") : item.error._tag))),
      )
      .edges({ approve: "outcome", outcome: "done" })

  it("fires each item's deadline by itself in the process that paused the run, and refuses a late decision", async () => {
    const journal = sqliteJournal({ path: join(directory, `timed-${databases++}.db`) })
    const paused = await timedRefunds().run({ amounts: [1, 2] }, { journal })
    if (paused.status !== "awaiting-human") throw new Error(`not paused: ${paused.status}`)
    expect(paused.pending?.every((wait) => typeof wait.deadline === "number")).toBe(true)
    expect(paused.deadline).toBe(Math.min(...(paused.pending ?? []).map((wait) => wait.deadline as number)))
    const half = await timedRefunds().decide(paused.runId, "approve[0]", { approve: true }, { journal })
    expect(half.status).toBe("awaiting-human")
    // Nobody decides approve[1]: its deadline passes and the timer of this process resumes the run.
    await expect.poll(async () => (await journal.read(paused.runId)).some((entry) => entry.type === "run.finished"), { timeout: 3000, interval: 50 }).toBe(true)
    const entries = await journal.read(paused.runId)
    expect(entries.find((entry) => entry.type === "human.expired")).toMatchObject({ step: "approve[1]" })
    expect(entries.find((entry) => entry.type === "step.finished" && entry.step === "outcome")).toMatchObject({ output: ["approved", "HumanTimeoutError"] })
    await expect(timedRefunds().decide(paused.runId, "approve[1]", { approve: true }, { journal })).rejects.toMatchObject({
      name: "DecisionError",
      reason: "late",
      message: expect.stringContaining('"approve[1]"'),
    })
  }, 10_000)

  it("refuses a late decision for a live wait inside fan-out", async () => {
    const handle = timedRefunds().start({ amounts: [1] })
    const result = await handle.result
    expect(result).toMatchObject({ status: "done", output: ["HumanTimeoutError"] })
    expect(() => handle.send("approve[0]", { approve: true })).toThrow(expect.objectContaining({ reason: "late" }))
  })
})

describe("what a store shows of a run paused inside fan-out", () => {
  it("keeps it awaiting-human after a partial decision, with the deadline due first for a worker", async () => {
    const journal = sqliteJournal({ path: join(directory, `status-${databases++}.db`) })
    // The first item has a deadline, the second none: the store must still show the first's.
    const mixed = pipeline({ id: "mixed-deadlines", input: z.object({}) })
      .step(
        "ask",
        parallel({ branches: { soon: human({ decision: Verdict, timeout: "1h" }), later: human({ decision: Verdict }), third: human({ decision: Verdict }) } }),
      )
      .edges({ ask: "done" })
    const paused = await mixed.run({}, { journal })
    if (paused.status !== "awaiting-human") throw new Error("not paused")
    const soon = paused.pending?.find((wait) => wait.path === "ask.soon")?.deadline
    expect(typeof soon).toBe("number")
    const row = () => journal.runs().find((run) => run.runId === paused.runId)
    expect(row()).toMatchObject({ status: "awaiting-human", deadline: soon })
    await mixed.decide(paused.runId, "ask.later", { approve: true }, { journal })
    expect(row()).toMatchObject({ status: "awaiting-human", deadline: soon })
    await mixed.decide(paused.runId, "ask.third", { approve: true }, { journal })
    expect(row()).toMatchObject({ status: "awaiting-human", deadline: soon })
    expect(await mixed.decide(paused.runId, "ask.soon", { approve: false }, { journal })).toMatchObject({ status: "done" })
    expect(row()).toMatchObject({ status: "done" })
    journal.close()
  })
})
