import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  fn,
  human,
  type Journal,
  type JournalEntry,
  llm,
  map,
  memoryJournal,
  parallel,
  pipeline,
  ResumeError,
  RetryError,
  type RunClaim,
} from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const Verdict = z.object({ label: z.enum(["refund", "other"]) })

/** prepare → classify (an llm with an output schema) → file; counts what each code step did. */
const triage = () => {
  const calls = { prepare: 0, file: 0 }
  const p = pipeline({ id: "triage", input: z.object({ text: z.string() }) })
    .step(
      "prepare",
      fn(({ input }) => {
        calls.prepare += 1
        return input.text.toLowerCase()
      }),
    )
    .step("classify", llm({ model: "fast", prompt: ({ steps }) => `Label: ${steps.prepare}`, output: Verdict, repair: 1 }))
    .step(
      "file",
      fn(({ steps }) => {
        calls.file += 1
        return `filed as ${steps.classify?.label}`
      }),
    )
    .edges({ prepare: "classify", classify: "file", file: "done" })
  return { p, calls }
}

const started = (entries: readonly JournalEntry[]) => entries.filter((entry) => entry.type === "step.started").map((entry) => (entry as { step: string }).step)

describe("retry a failed run from the step that failed", () => {
  it("runs only the failed step again, as a new attempt the journal shows after the failed one", async () => {
    const journal = memoryJournal()
    const first = triage()
    const failed = await first.p.run({ text: "Refund me" }, { journal, runId: "t1", models: { fast: scriptedModel(["not json", "still not json"]) } })
    expect(failed).toMatchObject({ status: "failed", error: { _tag: "ModelError", reason: "invalid-output", step: "classify" } })
    // What the README told a user to do, and what it gave: resume refuses a failed run.
    await expect(first.p.resume("t1", { journal })).rejects.toMatchObject({ name: "ResumeError", reason: "finished" })

    const fixed = triage()
    const model = scriptedModel(['{"label":"refund"}'])
    const retried = await fixed.p.retry("t1", { journal, models: { fast: model } })
    expect(retried).toMatchObject({ status: "done", output: "filed as refund", steps: { prepare: "refund me", classify: { label: "refund" } } })
    expect(fixed.calls).toEqual({ prepare: 0, file: 1 })
    expect(model.calls).toHaveLength(1)

    const entries = await journal.read("t1")
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(started(entries)).toEqual(["prepare", "classify", "classify", "file"])
    const marker = entries.findIndex((entry) => entry.type === "run.retried")
    expect(entries[marker]).toMatchObject({ type: "run.retried", steps: ["classify#1"], retry: 1 })
    expect(entries[marker - 1]).toMatchObject({ type: "run.finished", status: "failed" })
    expect(entries.at(-1)).toMatchObject({ type: "run.finished", status: "done" })
    // A fresh attempt count: the new attempt is the first of its own.
    expect(entries.slice(marker).find((entry) => entry.type === "step.finished" && entry.step === "classify")).toMatchObject({ visit: 1, attempts: 1 })
    // Once done, it is done: neither retry nor resume reopens it.
    await expect(fixed.p.retry("t1", { journal })).rejects.toMatchObject({ name: "RetryError", reason: "done", runId: "t1" })
  })

  it("runs only the failed branch of a parallel step again", async () => {
    const runs = { good: 0, flaky: 0 }
    let broken = true
    const p = pipeline({ id: "fan", input: z.object({}) })
      .step(
        "both",
        parallel({
          branches: {
            good: fn(() => {
              runs.good += 1
              return "g"
            }),
            flaky: fn(() => {
              runs.flaky += 1
              if (broken) throw new Error("flaky broke")
              return "f"
            }),
          },
        }),
      )
      .edges({ both: "done" })
    const journal = memoryJournal()
    expect(await p.run({}, { journal, runId: "f1" })).toMatchObject({ status: "failed", error: { step: "both.flaky" } })
    expect(runs).toEqual({ good: 1, flaky: 1 })
    broken = false
    expect(await p.retry("f1", { journal })).toMatchObject({ status: "done", output: { good: "g", flaky: "f" } })
    expect(runs).toEqual({ good: 1, flaky: 2 })
    expect(started(await journal.read("f1"))).toEqual(expect.arrayContaining(["both", "both.good", "both.flaky", "both", "both.flaky"]))
  })

  it("runs only the failed items of a map again", async () => {
    const seen: number[] = []
    let broken = true
    const p = pipeline({ id: "items", input: z.object({ count: z.number() }) })
      .step(
        "each",
        map({
          over: ({ input }) => Array.from({ length: input.count }, (_, index) => index),
          each: fn(({ input }: { input: number }) => {
            seen.push(input)
            if (broken && input === 3) throw new Error("item 3 broke")
            return input * 10
          }),
          concurrency: 1,
          onItemError: "collect",
        }),
      )
      .step(
        "check",
        fn(({ steps }) => {
          const results = steps.each as ReadonlyArray<{ ok: boolean }>
          if (results.some((result) => !result.ok)) throw new Error("an item failed")
          return results.length
        }),
      )
      .edges({ each: "check", check: "done" })
    const journal = memoryJournal()
    expect(await p.run({ count: 6 }, { journal, runId: "m1" })).toMatchObject({ status: "failed", error: { step: "check" } })
    // "collect" made the map's own visit finish: the failed step is check, and the map's result stands.
    seen.length = 0
    broken = false
    expect(await p.retry("m1", { journal })).toMatchObject({ status: "failed", error: { step: "check" } })
    expect(seen).toEqual([])
  })

  it("with fail-fast, runs the failed item and those not yet run, never the finished ones", async () => {
    const seen: number[] = []
    let broken = true
    const p = pipeline({ id: "items", input: z.object({ count: z.number() }) })
      .step(
        "each",
        map({
          over: ({ input }) => Array.from({ length: input.count }, (_, index) => index),
          each: fn(({ input }: { input: number }) => {
            seen.push(input)
            if (broken && input === 3) throw new Error("item 3 broke")
            return input * 10
          }),
          concurrency: 1,
        }),
      )
      .edges({ each: "done" })
    const journal = memoryJournal()
    expect(await p.run({ count: 6 }, { journal, runId: "m2" })).toMatchObject({ status: "failed", error: { step: "each[3]" } })
    expect(seen).toEqual([0, 1, 2, 3])
    seen.length = 0
    broken = false
    expect(await p.retry("m2", { journal })).toMatchObject({ status: "done", output: [0, 10, 20, 30, 40, 50] })
    expect(seen).toEqual([3, 4, 5])
    const entries = await journal.read("m2")
    // The retry computed the same list (it is checked against the journaled one), so it is journaled once.
    expect(entries.filter((entry) => entry.type === "map.listed")).toHaveLength(1)
    expect(entries.filter((entry) => entry.type === "step.failed" && entry.step === "each[3]")).toHaveLength(1)
    expect(entries.filter((entry) => entry.type === "step.finished" && entry.step === "each[3]")).toHaveLength(1)
  })

  it("of a map of 1,000 items of which one failed (the others finished), runs exactly that one", async () => {
    let runs = 0
    let broken = true
    const p = pipeline({ id: "thousand", input: z.object({}) })
      .step(
        "each",
        map({
          over: () => Array.from({ length: 1000 }, (_, index) => index),
          each: fn(({ input }: { input: number }) => {
            runs += 1
            if (broken && input === 999) throw new Error("the last item broke")
            return input
          }),
        }),
      )
      .edges({ each: "done" })
    const journal = memoryJournal()
    expect(await p.run({}, { journal, runId: "k1" })).toMatchObject({ status: "failed", error: { step: "each[999]" } })
    expect(runs).toBe(1000)
    runs = 0
    broken = false
    const retried = await p.retry("k1", { journal })
    expect(retried).toMatchObject({ status: "done" })
    expect(retried.status === "done" && (retried.output as number[]).length).toBe(1000)
    expect(runs).toBe(1)
  })

  it("keeps a failure an error route handled, and retries the recovery step that failed", async () => {
    const runs = { charge: 0, recover: 0 }
    let broken = true
    const p = pipeline({ id: "recovering", input: z.object({}) })
      .step(
        "charge",
        fn(() => {
          runs.charge += 1
          throw new Error("card declined")
        }),
      )
      .step(
        "recover",
        fn(() => {
          runs.recover += 1
          if (broken) throw new Error("recovery broke")
          return "refunded"
        }),
      )
      .edges({ charge: { next: "done", error: "recover" }, recover: "done" })
    const journal = memoryJournal()
    expect(await p.run({}, { journal, runId: "e1" })).toMatchObject({ status: "failed", error: { step: "recover" } })
    broken = false
    expect(await p.retry("e1", { journal })).toMatchObject({ status: "done", output: "refunded" })
    expect(runs).toEqual({ charge: 1, recover: 2 })
    expect((await journal.read("e1")).find((entry) => entry.type === "run.retried")).toMatchObject({ steps: ["recover#1"] })
  })

  it("continues a cancelled run: the step the cancel cut short runs again", async () => {
    const gate = Promise.withResolvers<void>()
    let calls = 0
    const p = pipeline({ id: "slow", input: z.object({}) })
      .step(
        "wait",
        fn(async ({ signal }) => {
          calls += 1
          if (calls === 1) {
            gate.resolve()
            await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }))
          }
          return "waited"
        }),
      )
      .edges({ wait: "done" })
    const journal = memoryJournal()
    const handle = p.start({}, { journal, runId: "c1" })
    await gate.promise
    handle.cancel("deploy")
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError" } })
    expect(await p.retry("c1", { journal })).toMatchObject({ status: "done", output: "waited" })
    expect(calls).toBe(2)
  })

  it("a retry cut short by a crash is continued by resume, never reported finished", async () => {
    const journal = memoryJournal()
    const { p } = triage()
    await p.run({ text: "x" }, { journal, runId: "t2", models: { fast: scriptedModel(["bad", "bad"]) } })
    const full = memoryJournal()
    for (const entry of await journal.read("t2")) await full.append(entry)
    await triage().p.retry("t2", { journal: full, models: { fast: scriptedModel(['{"label":"other"}']) } })
    // The process died just after the retry began the step again.
    const entries = await full.read("t2")
    const crashed = memoryJournal()
    const cut = entries.findIndex((entry) => entry.type === "run.retried") + 2
    for (const entry of entries.slice(0, cut)) await crashed.append(entry)
    await expect(crashed.read("t2")).resolves.toContainEqual(expect.objectContaining({ type: "step.started", step: "classify" }))
    const again = triage()
    expect(await again.p.resume("t2", { journal: crashed, models: { fast: scriptedModel(['{"label":"other"}']) } })).toMatchObject({
      status: "done",
      output: "filed as other",
    })
    expect(again.calls).toEqual({ prepare: 0, file: 1 })
    await expect(again.p.retry("t2", { journal: crashed })).rejects.toBeInstanceOf(RetryError)
  })
})

describe("retry refuses, naming the run and the reason, and writes nothing", () => {
  const unchanged = async (journal: Journal, runId: string, attempt: () => Promise<unknown>) => {
    const before = await journal.read(runId)
    const error = await attempt().then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(await journal.read(runId)).toEqual(before)
    return error
  }

  it("a run that is done, waiting, not finished, stopped elsewhere or unknown", async () => {
    const journal = memoryJournal()
    const { p } = triage()
    await p.run({ text: "ok" }, { journal, runId: "done-1", models: { fast: scriptedModel(['{"label":"other"}']) } })
    expect(await unchanged(journal, "done-1", () => p.retry("done-1", { journal }))).toMatchObject({
      name: "RetryError",
      reason: "done",
      runId: "done-1",
      message: "cannot retry run done-1: it finished done: there is nothing to retry",
    })

    const asking = pipeline({ id: "asking", input: z.object({}) })
      .step("approve", human({ decision: z.object({ ok: z.boolean() }) }))
      .edges({ approve: "done" })
    await asking.run({}, { journal, runId: "wait-1" })
    expect(await unchanged(journal, "wait-1", () => asking.retry("wait-1", { journal }))).toMatchObject({
      reason: "waiting",
      message: expect.stringContaining('cannot retry run wait-1: it waits on a decision for "approve"'),
    })

    // A process that died mid-run left no run.finished: that is resume's job.
    const crashed = memoryJournal()
    for (const entry of (await journal.read("done-1")).slice(0, 3)) await crashed.append(entry)
    expect(await unchanged(crashed, "done-1", () => p.retry("done-1", { journal: crashed }))).toMatchObject({ reason: "running" })

    expect(await p.retry("nobody", { journal }).catch((error: unknown) => error)).toMatchObject({ name: "RetryError", reason: "unknown-run", runId: "nobody" })
    expect(await asking.retry("done-1", { journal }).catch((error: unknown) => error)).toMatchObject({ reason: "other-pipeline" })
  })

  it("a run another process holds", async () => {
    const inner = memoryJournal()
    const { p } = triage()
    await p.run({ text: "x" }, { journal: inner, runId: "held", models: { fast: scriptedModel(["bad", "bad"]) } })
    const held: Journal = {
      append: (entry) => inner.append(entry),
      read: (runId) => inner.read(runId),
      saveSnapshot: (runId, snapshot) => inner.saveSnapshot(runId, snapshot),
      loadSnapshot: (runId) => inner.loadSnapshot(runId),
      claim: async (): Promise<RunClaim | undefined> => undefined,
    }
    const error = await unchanged(inner, "held", () => p.retry("held", { journal: held }))
    expect(error).toBeInstanceOf(RetryError)
    expect(error).toMatchObject({ reason: "claimed", runId: "held", message: "cannot retry run held: another process is executing it" })
    expect(error).not.toBeInstanceOf(ResumeError)
  })

  it("a pipeline whose graph changed, unless allowStructureChange", async () => {
    const journal = memoryJournal()
    await triage().p.run({ text: "x" }, { journal, runId: "s1", models: { fast: scriptedModel(["bad", "bad"]) } })
    const changed = pipeline({ id: "triage", input: z.object({ text: z.string() }) })
      .step(
        "prepare",
        fn(({ input }) => input.text),
      )
      .step("classify", llm({ model: "fast", prompt: () => "Label", output: Verdict }))
      .edges({ prepare: "classify", classify: "done" })
    const error = await unchanged(journal, "s1", () => changed.retry("s1", { journal }))
    expect(error).toMatchObject({ reason: "structure-changed", changes: expect.arrayContaining([expect.stringContaining("file")]) })
    expect(await changed.retry("s1", { journal, allowStructureChange: true, models: { fast: scriptedModel(['{"label":"other"}']) } })).toMatchObject({
      status: "done",
      output: { label: "other" },
    })
  })
})
