import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, pipeline, sqliteJournal, worker } from "../../src/index.ts"

const folder = mkdtempSync(join(tmpdir(), "switchboard-worker-refusals-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

const first = pipeline({ id: "orders", input: z.object({}) })
  .step(
    "pack",
    fn(() => 1),
  )
  .edges({ pack: "done" })
// The same id with another graph: a run submitted by `first` cannot be resumed by it.
const changed = pipeline({ id: "orders", input: z.object({}) })
  .step(
    "pack",
    fn(() => 1),
  )
  .step(
    "ship",
    fn(() => 2),
  )
  .edges({ pack: "ship", ship: "done" })

describe("a worker and a run it cannot resume", () => {
  it("reports a lasting refusal once, not at every poll", async () => {
    const journal = sqliteJournal({ path: join(folder, "runs.db") })
    const runId = await first.submit({}, { journal })
    const errors: string[] = []
    const running = worker({ journal, pipelines: [changed], pollMs: 10, onError: (id, error) => errors.push(`${id}: ${(error as Error).name}`) })
    await new Promise((resolve) => setTimeout(resolve, 300))
    await running.stop()
    journal.close()
    expect(errors).toEqual([`${runId}: ResumeError`])
  })

  it("leaves a run that fails at once to the next poll instead of trying it again in a loop", async () => {
    const store = sqliteJournal({ path: join(folder, "failing.db") })
    await first.submit({}, { journal: store })
    const journal = {
      ...store,
      read: async () => {
        throw new Error("the disk is failing")
      },
    }
    let errors = 0
    const running = worker({ journal, pipelines: [first], pollMs: 100, onError: () => errors++ })
    await new Promise((resolve) => setTimeout(resolve, 350))
    await running.stop()
    store.close()
    // One try per poll (about 4 in 350 ms), never one per turn of the event loop.
    expect(errors).toBeGreaterThanOrEqual(1)
    expect(errors).toBeLessThanOrEqual(6)
  })
})
