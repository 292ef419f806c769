// The Restate seam without a server: a stand-in for `ctx.run` that journals each named action's
// result the first time and returns it afterwards, as Restate does on a replay.
import type { WorkflowContext } from "@restatedev/restate-sdk"
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { projectionJournal, restateStepExecutor } from "../../src/engines/restate/index.ts"
import { callTool, fn, type Journal, JournalConflictError, type JournalEntry, memoryJournal, pipeline, tool } from "../../src/index.ts"
import { shapeOf } from "./support.ts"

const replayingContext = () => {
  const journal = new Map<string, unknown>()
  const run = async (name: string, action: () => Promise<unknown>) => {
    if (!journal.has(name)) journal.set(name, structuredClone(await action()))
    return structuredClone(journal.get(name))
  }
  return { journal, ctx: { run } as unknown as WorkflowContext }
}

const counted = () => {
  const runs: string[] = []
  const p = pipeline({ id: "counted", input: z.object({ n: z.number() }) })
    .step(
      "double",
      fn(({ input }) => {
        runs.push("double")
        return input.n * 2
      }),
    )
    .step(
      "check",
      fn(({ steps }) => {
        runs.push("check")
        if ((steps.double ?? 0) > 100) throw new Error("too big")
        return steps.double ?? 0
      }),
    )
    .edges({ double: "check", check: "done" })
  return { p, runs }
}

describe("restateStepExecutor", () => {
  it("runs each step visit inside ctx.run named step#visit, and a replay runs none of them again", async () => {
    const { p, runs } = counted()
    const { journal, ctx } = replayingContext()
    const first = memoryJournal()
    const result = await p.run({ n: 4 }, { executor: restateStepExecutor(ctx), journal: first, runId: "r1" })
    expect(result).toMatchObject({ status: "done", output: 8 })
    expect([...journal.keys()]).toEqual(["double#1", "check#1"])
    expect(runs).toEqual(["double", "check"])

    const replayed = memoryJournal()
    const again = await p.run({ n: 4 }, { executor: restateStepExecutor(ctx), journal: replayed, runId: "r1" })
    expect(again).toMatchObject({ status: "done", output: 8 })
    expect(runs).toEqual(["double", "check"])
    // The replay hands the run the same events, so a projection writes the same rows.
    expect(shapeOf(await replayed.read("r1"))).toEqual(shapeOf(await first.read("r1")))
  })

  it("journals a failed step as a value (ctx.run never retries it) and replays the same failure", async () => {
    const { p, runs } = counted()
    const { journal, ctx } = replayingContext()
    const result = await p.run({ n: 60 }, { executor: restateStepExecutor(ctx) })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "check", message: expect.stringContaining("too big") } })
    expect(journal.get("check#1")).toMatchObject({ error: { _tag: "StepCodeError" } })
    const again = await p.run({ n: 60 }, { executor: restateStepExecutor(ctx) })
    expect(again).toMatchObject({ status: "failed", error: { step: "check" } })
    expect(runs).toEqual(["double", "check"])
  })

  it("fails a step whose output cannot be journaled as JSON, naming it", async () => {
    const p = pipeline({ id: "big", input: z.object({}) })
      .step(
        "count",
        fn(() => ({ total: 10n })),
      )
      .edges({ count: "done" })
    const { ctx } = replayingContext()
    const result = await p.run({}, { executor: restateStepExecutor(ctx) })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "StepCodeError", step: "count", message: expect.stringContaining("steps.count.output.total: a BigInt is not a JSON value") },
    })
  })
})

describe("restateStepExecutor and secrets", () => {
  it("keeps redacted call records in Restate's journal, and the step output exact", async () => {
    const lookup = tool({ name: "lookup", input: z.object({ ssn: z.string(), token: z.string() }), run: async ({ ssn }) => ({ found: ssn.length }) })
    const p = pipeline({ id: "secret", input: z.object({ ssn: z.string() }) })
      .step(
        "find",
        callTool(lookup, ({ input }) => ({ ssn: input.ssn, token: "sk-live1234567890abcdef" })),
      )
      .edges({ find: "done" })
    const { journal, ctx } = replayingContext()
    const result = await p.run({ ssn: "123-45-6789" }, { executor: restateStepExecutor(ctx, { redact: { keys: ["ssn"] } }) })
    expect(result).toMatchObject({ status: "done", output: { found: 11 } })
    const stored = JSON.stringify(journal.get("find#1"))
    expect(stored).not.toContain("123-45-6789")
    expect(stored).not.toContain("sk-live1234567890abcdef")
    expect(journal.get("find#1")).toMatchObject({ done: { output: { found: 11 } } })
  })
})

const entry = (seq: number): JournalEntry => ({ type: "step.started", runId: "r1", step: "a", visit: 1, at: seq, seq })

describe("projectionJournal", () => {
  it("skips positions the store already holds and treats a duplicate written by another attempt as done", async () => {
    const store = memoryJournal()
    store.append(entry(0))
    store.append(entry(1))
    const projection = await projectionJournal(store, "r1")
    await projection.append(entry(0))
    await projection.append(entry(1))
    await projection.append(entry(2))
    expect((await store.read("r1")).map((written) => written.seq)).toEqual([0, 1, 2])
    const conflicting: Journal = {
      ...store,
      append: (written) => {
        throw new JournalConflictError(written.runId, written.seq)
      },
    }
    const raced = await projectionJournal(conflicting, "r1")
    await raced.append(entry(3))
    const outcome = await Promise.race([
      raced.failed.then(
        () => "failed",
        () => "failed",
      ),
      new Promise((resolve) => setTimeout(() => resolve("fine"), 20)),
    ])
    expect(outcome).toBe("fine")
  })

  it("reports any other write failure through `failed`, and writes nothing after it", async () => {
    const store = memoryJournal()
    let calls = 0
    const broken: Journal = {
      ...store,
      append: async () => {
        calls++
        throw new Error("disk full")
      },
    }
    const projection = await projectionJournal(broken, "r1")
    await projection.append(entry(0))
    await expect(projection.failed).rejects.toThrow("disk full")
    await projection.append(entry(1))
    expect(calls).toBe(1)
  })
})
