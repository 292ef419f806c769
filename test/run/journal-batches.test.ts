// A journal that writes several events per commit (Postgres) gets them in batches: fewer commits,
// the same events in the same order, and a failed batch ends the run like a failed append.
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, type Journal, type JournalEntry, memoryJournal, pipeline, type RunEvent, route } from "../../src/index.ts"

const chain = pipeline({ id: "batched", input: z.object({ n: z.number() }) })
  .step(
    "first",
    fn(({ input }) => input.n + 1),
  )
  .step(
    "second",
    fn(async ({ steps }) => (steps.first ?? 0) * 2),
  )
  .step(
    "third",
    fn(({ steps }) => (steps.second ?? 0) - 3),
  )
  .edges({ first: "second", second: route(["third", "done"], ({ output }) => (output > 0 ? "third" : "done")), third: "done" })

/** A memory journal whose writes are asynchronous and which records each batch it is given. */
const batchingJournal = (failOn?: JournalEntry["type"]) => {
  const inner = memoryJournal()
  const batches: Array<readonly JournalEntry[]> = []
  const journal: Journal = {
    ...inner,
    append: async (entry) => {
      batches.push([entry])
      inner.append(entry)
    },
    appendMany: async (entries) => {
      await new Promise((resolve) => setTimeout(resolve, 1))
      if (entries.some((entry) => entry.type === failOn)) throw new Error("connection lost")
      batches.push(entries)
      for (const entry of entries) inner.append(entry)
    },
  }
  return { journal, batches, inner }
}

const typesOf = (entries: readonly JournalEntry[]) => entries.map((entry) => entry.type)

describe("journal batches", () => {
  it("writes a step's route.taken and step.started in one batch, keeping every event in seq order", async () => {
    const { journal, batches, inner } = batchingJournal()
    const seen: RunEvent[] = []
    const result = await chain.run({ n: 1 }, { journal, onEvent: (event) => seen.push(event) })
    expect(result).toMatchObject({ status: "done", output: 1 })
    const [runId] = inner.runIds()
    const entries = await inner.read(runId as string)
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    // The same events a one-at-a-time journal gets, in the same order.
    const plain = memoryJournal()
    await chain.run({ n: 1 }, { journal: plain })
    expect(typesOf(entries)).toEqual(typesOf(await plain.read(plain.runIds()[0] as string)))
    expect(batches.flat()).toEqual(entries)
    for (const step of ["second", "third"]) {
      const batch = batches.find(
        (written) =>
          written.some((entry) => entry.type === "route.taken" && entry.to === step) &&
          written.some((entry) => entry.type === "step.started" && entry.step === step),
      )
      expect(batch, `route.taken and step.started of ${step} in one batch`).toBeDefined()
    }
    expect(batches.length).toBeLessThan(entries.length)
    // Observers hear each event once, in journal order.
    expect(seen.map((event) => event.type)).toEqual(typesOf(entries))
  })

  it("ends the run failed when a batch cannot be written, keeping the batches before it", async () => {
    const { journal, inner } = batchingJournal("step.finished")
    const result = await chain.run({ n: 1 }, { journal })
    expect(result).toMatchObject({
      status: "failed",
      error: { _tag: "JournalError", reason: "write-failed", message: expect.stringContaining("connection lost") },
    })
    const entries = await inner.read(inner.runIds()[0] as string)
    expect(typesOf(entries)).toContain("step.started")
    expect(typesOf(entries)).not.toContain("step.finished")
  })
})
