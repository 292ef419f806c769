import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, type JournalEntry, memoryJournal, pipeline, sqliteJournal, worker } from "../../src/index.ts"

/** first (waits for `gate`, or its signal) → second; counts what each did. */
const twoSteps = () => {
  const gate = Promise.withResolvers<void>()
  const entered = Promise.withResolvers<void>()
  const calls = { first: 0, second: 0, firstAborted: 0 }
  const p = pipeline({ id: "two", input: z.object({}) })
    .step(
      "first",
      fn(async ({ signal }) => {
        calls.first += 1
        entered.resolve()
        await new Promise<void>((resolve, reject) => {
          void gate.promise.then(resolve)
          signal.addEventListener(
            "abort",
            () => {
              calls.firstAborted += 1
              reject(signal.reason)
            },
            { once: true },
          )
        })
        return "first done"
      }),
    )
    .step(
      "second",
      fn(() => {
        calls.second += 1
        return "second done"
      }),
    )
    .edges({ first: "second", second: "done" })
  return { p, calls, gate, entered }
}

const types = (entries: readonly JournalEntry[]) => entries.map((entry) => `${entry.type}${"step" in entry ? ` ${entry.step}` : ""}`)

describe("drain a run", () => {
  it("lets the step in flight finish, starts no new one, and leaves the run running for a resume", async () => {
    const { p, calls, gate, entered } = twoSteps()
    const journal = memoryJournal()
    const drain = new AbortController()
    const handle = p.start({}, { journal, runId: "d1", drain: drain.signal })
    await entered.promise
    drain.abort()
    gate.resolve()
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining("run d1 was drained") } })
    expect(calls).toEqual({ first: 1, second: 0, firstAborted: 0 })
    const entries = await journal.read("d1")
    expect(types(entries)).toContain("step.finished first")
    expect(types(entries)).not.toContain("step.started second")
    expect(entries.some((entry) => entry.type === "run.finished")).toBe(false)

    const next = twoSteps()
    expect(await next.p.resume("d1", { journal })).toMatchObject({ status: "done", output: "second done" })
    expect(next.calls).toEqual({ first: 0, second: 1, firstAborted: 0 })
  })

  it("past the timeout (the run's signal), stops the step in flight without journaling its end; the resume runs it again", async () => {
    const { p, calls, entered } = twoSteps()
    const journal = memoryJournal()
    const drain = new AbortController()
    const cancel = new AbortController()
    const handle = p.start({}, { journal, runId: "d2", drain: drain.signal, signal: cancel.signal })
    await entered.promise
    drain.abort()
    cancel.abort("drain timed out")
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining("was drained") } })
    expect(calls.firstAborted).toBe(1)
    const entries = await journal.read("d2")
    expect(types(entries).at(-1)).toBe("step.started first")

    const next = twoSteps()
    next.gate.resolve()
    expect(await next.p.resume("d2", { journal })).toMatchObject({ status: "done" })
    expect(next.calls).toMatchObject({ first: 1, second: 1 })
  })
})

describe("worker.drain", () => {
  const folders: string[] = []
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
  })

  it("takes no new run, leaves the one in flight running after its step, and another worker finishes it", { timeout: 20_000 }, async () => {
    const folder = mkdtempSync(join(tmpdir(), "switchboard-drain-"))
    folders.push(folder)
    const journal = sqliteJournal({ path: join(folder, "runs.db") })
    const { p, calls, gate, entered } = twoSteps()
    const runId = await p.submit({}, { journal })
    const results: string[] = []
    const running = worker({ journal, pipelines: [p], pollMs: 20, onResult: (result) => results.push(result.status) })
    await entered.promise
    const drained = running.drain({ timeout: "10s" })
    gate.resolve()
    await drained
    expect(results).toEqual([])
    expect(calls).toEqual({ first: 1, second: 0, firstAborted: 0 })
    expect(journal.runs()).toEqual([expect.objectContaining({ runId, status: "running" })])

    const next = twoSteps()
    const finished = Promise.withResolvers<string>()
    const again = worker({ journal, pipelines: [next.p], pollMs: 20, onResult: (result) => finished.resolve(result.status) })
    expect(await finished.promise).toBe("done")
    await again.stop()
    expect(next.calls).toEqual({ first: 0, second: 1, firstAborted: 0 })
    journal.close()
  })
})
