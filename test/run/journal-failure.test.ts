import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, human, type Journal, JournalConflictError, type JournalEntry, memoryJournal, pipeline, type RunClaim, type StepExecutor } from "../../src/index.ts"

// Each step counts its runs: a step that runs after a refused write, or twice across a resume, shows.
const counted = () => {
  const calls: string[] = []
  const chain = pipeline({ id: "three", input: z.object({}) })
    .step(
      "first",
      fn(() => {
        calls.push("first")
        return 1
      }),
    )
    .step(
      "second",
      fn(() => {
        calls.push("second")
        return 2
      }),
    )
    .step(
      "third",
      fn(() => {
        calls.push("third")
        return 3
      }),
    )
    .edges({ first: "second", second: "third", third: "done" })
  return { calls, chain }
}

type Failure = "throw" | "reject" | "stall"

/** A memory journal whose append fails once for the first entry `matches` picks, as `mode` says. */
const failingOnce = (matches: (entry: JournalEntry) => boolean, mode: Failure, error: Error = new Error("disk full")) => {
  const inner = memoryJournal()
  let failed = false
  const journal: Journal = {
    ...inner,
    label: "test journal",
    append: (entry) => {
      if (!failed && matches(entry)) {
        failed = true
        if (mode === "throw") throw error
        if (mode === "reject") return Promise.reject(error)
        return new Promise<void>(() => {})
      }
      return inner.append(entry)
    },
  }
  return { journal, inner }
}

const finishedOf = (step: string) => (entry: JournalEntry) => entry.type === "step.finished" && entry.step === step

describe("a journal that refuses a write", () => {
  it.each(["throw", "reject"] as const)("ends the run with a JournalError naming the store when append %ss, keeping what was written", async (mode) => {
    const { calls, chain } = counted()
    const { journal } = failingOnce(finishedOf("first"), mode)
    const result = await chain.run({}, { journal })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "JournalError", reason: "write-failed", store: "test journal", step: "first", message: expect.stringContaining("disk full") },
    })
    // No more user code after the refused write: the next steps never started.
    expect(calls).toEqual(["first"])
  })

  it("names the store's error code (ENOSPC)", async () => {
    const { chain } = counted()
    const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
    const result = await chain.run({}, { journal: failingOnce(finishedOf("second"), "reject", full).journal })
    expect(result.status === "failed" && result.error).toMatchObject({ _tag: "JournalError", reason: "write-failed", code: "ENOSPC" })
  })

  it("stays resumable: a resume on the repaired journal runs each step once in all", async () => {
    const { calls, chain } = counted()
    const { journal, inner } = failingOnce(finishedOf("second"), "reject")
    const failed = await chain.run({}, { journal })
    expect(failed.status).toBe("failed")
    // The run's end was never journaled: the journal still says it is running.
    expect((await inner.read(failed.runId)).some((entry) => entry.type === "run.finished")).toBe(false)
    const resumed = await chain.resume(failed.runId, { journal })
    expect(resumed).toMatchObject({ status: "done", output: 3 })
    // "second" ran, its end was refused, so it runs again (at least once); "first" and "third" once.
    expect(calls).toEqual(["first", "second", "second", "third"])
  })

  it("tells a process that lost the race for an event that another process executes the run (conflict)", async () => {
    const { calls, chain } = counted()
    const { journal } = failingOnce(finishedOf("first"), "throw", new JournalConflictError("r", 2))
    const result = await chain.run({}, { journal })
    expect(result.status === "failed" && result.error).toMatchObject({ _tag: "JournalError", reason: "conflict" })
    expect(calls).toEqual(["first"])
  })

  it("writes nothing after the run's end, even for a cancelled step that settles late", async () => {
    const journal = memoryJournal()
    let release: () => void = () => {}
    const slow = pipeline({ id: "slow", input: z.object({}) })
      .step(
        "wait",
        // Ignores its signal: settles only when released, after the run has ended.
        fn(() => new Promise<number>((resolve) => (release = () => resolve(1)))),
      )
      .edges({ wait: "done" })
    const handle = slow.start({}, { journal })
    await new Promise((resolve) => setTimeout(resolve, 20))
    handle.cancel("enough")
    const result = await handle.result
    expect(result.status).toBe("failed")
    release()
    await new Promise((resolve) => setTimeout(resolve, 20))
    const entries = await journal.read(handle.id)
    expect(entries.at(-1)?.type).toBe("run.finished")
  })
})

describe("a journal that does not answer", () => {
  it("stops the run with a timeout JournalError after journalTimeout, before any more user code", async () => {
    const { calls, chain } = counted()
    const { journal } = failingOnce(finishedOf("first"), "stall")
    const result = await chain.run({}, { journal, journalTimeout: "100ms" })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "JournalError", reason: "timeout", store: "test journal" } })
    expect(calls).toEqual(["first"])
  })

  it("lets cancel() settle the run within journalTimeout", async () => {
    const { chain } = counted()
    const { journal } = failingOnce((entry) => entry.type === "step.started" && entry.step === "second", "stall")
    const handle = chain.start({}, { journal, journalTimeout: "150ms" })
    await new Promise((resolve) => setTimeout(resolve, 30))
    handle.cancel("shutting down")
    const result = await handle.result
    expect(result.status).toBe("failed")
  })

  it("stops the run when a claim is never granted", async () => {
    const { calls, chain } = counted()
    const journal: Journal = { ...memoryJournal(), claim: () => new Promise<RunClaim | undefined>(() => {}) }
    const result = await chain.run({}, { journal, journalTimeout: "100ms" })
    expect(result.status === "failed" && result.error).toMatchObject({ _tag: "JournalError", reason: "timeout" })
    expect(calls).toEqual([])
  })
})

describe("a new run whose id another process holds", () => {
  it("runs none of its code and says the run is executed elsewhere (conflict)", async () => {
    const { calls, chain } = counted()
    const journal: Journal = { ...memoryJournal(), claim: async () => undefined }
    const result = await chain.run({}, { journal, runId: "taken" })
    expect(result.status === "failed" && result.error).toMatchObject({
      _tag: "JournalError",
      reason: "conflict",
      message: expect.stringContaining("another process holds the claim on run taken"),
    })
    expect(calls).toEqual([])
  })
})

describe("a run that loses its claim", () => {
  it("stops before the next step with a claim-lost JournalError", async () => {
    const lost = new AbortController()
    const calls: string[] = []
    const chain = pipeline({ id: "claimed", input: z.object({}) })
      .step(
        "first",
        fn(() => {
          calls.push("first")
          lost.abort(new Error("the connection died"))
          return 1
        }),
      )
      .step(
        "second",
        fn(() => {
          calls.push("second")
          return 2
        }),
      )
      .edges({ first: "second", second: "done" })
    const journal: Journal = { ...memoryJournal(), claim: async () => ({ release: async () => {}, signal: lost.signal }) }
    const result = await chain.run({}, { journal })
    expect(result.status === "failed" && result.error).toMatchObject({
      _tag: "JournalError",
      reason: "claim-lost",
      message: expect.stringContaining("the connection died"),
    })
    expect(calls).toEqual(["first"])
  })
})

describe("a pause whose snapshot cannot be saved", () => {
  it("is reported as a JournalError instead of a quiet wait", async () => {
    const review = pipeline({ id: "review", input: z.object({}) })
      .step("ask", human({ decision: z.object({ ok: z.boolean() }) }))
      .edges({ ask: "done" })
    const journal: Journal = {
      ...memoryJournal(),
      saveSnapshot: () => Promise.reject(new Error("snapshot table is read-only")),
    }
    const result = await review.run({}, { journal })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "JournalError", message: expect.stringContaining("read-only") } })
  })
})

describe("an event listener that throws", () => {
  it("does not change the run", async () => {
    const { chain } = counted()
    const result = await chain.run(
      {},
      {
        onEvent: () => {
          throw new Error("listener bug")
        },
      },
    )
    expect(result).toMatchObject({ status: "done", output: 3 })
  })
})

describe("a refused write and an error edge", () => {
  it("stops the run instead of taking the step's error edge", async () => {
    const calls: string[] = []
    const refusing: StepExecutor = {
      runStep: (_key, run, services) =>
        run({ ...services, record: (event) => (event.type === "step.finished" ? Promise.reject(new Error("disk full")) : services.record(event)) }),
    }
    const guarded = pipeline({ id: "guarded", input: z.object({}) })
      .step(
        "work",
        fn(() => {
          calls.push("work")
          return 1
        }),
      )
      .step(
        "recover",
        fn(() => {
          calls.push("recover")
          return 0
        }),
      )
      .edges({ work: { next: "done", error: "recover" }, recover: "done" })
    const result = await guarded.run({}, { executor: refusing })
    expect(result.status === "failed" && result.error).toMatchObject({ _tag: "JournalError", step: "work" })
    expect(calls).toEqual(["work"])
  })
})
