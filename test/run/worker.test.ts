import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { callTool, fn, human, pipeline, type RunResult, sqliteJournal, tool, worker } from "../../src/index.ts"

const folders: string[] = []
const temporaryJournal = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-worker-"))
  folders.push(folder)
  return sqliteJournal({ path: join(folder, "runs.db") })
}
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

const makeShipping = () => {
  const effects: string[] = []
  const ship = tool({
    name: "ship",
    input: z.object({ order: z.string() }),
    idempotent: true,
    run: ({ order }, { idempotencyKey }) => {
      effects.push(idempotencyKey)
      return `shipped ${order}`
    },
  })
  const shipping = pipeline({ id: "shipping", input: z.object({ order: z.string() }) })
    .step(
      "pack",
      fn(({ input }) => `packed ${input.order}`),
    )
    .step(
      "ship",
      callTool(ship, ({ input }) => ({ order: input.order })),
    )
    .edges({ pack: "ship", ship: "done" })
  return { shipping, effects }
}

describe("worker", () => {
  it("executes submitted runs, each once", async () => {
    const journal = temporaryJournal()
    const { shipping, effects } = makeShipping()
    const ids = await Promise.all(["a", "b", "c", "d", "e"].map((order) => shipping.submit({ order }, { journal })))
    const results: RunResult<Record<string, unknown>>[] = []
    const running = worker({ journal, pipelines: [shipping], concurrency: 2, pollMs: 20, onResult: (result) => results.push(result) })
    await vi.waitFor(() => expect(results).toHaveLength(5), { timeout: 5_000 })
    await running.stop()
    expect(results.map((result) => result.runId).sort()).toEqual([...ids].sort())
    expect(results.every((result) => result.status === "done")).toBe(true)
    expect(effects.sort()).toEqual(ids.map((id) => `${id}:ship:1`).sort())
    expect(journal.runs().every((run) => run.status === "done")).toBe(true)
    journal.close()
  })

  it("leaves runs waiting for a person alone, and picks them up once decided elsewhere", async () => {
    const journal = temporaryJournal()
    const approval = pipeline({ id: "approval", input: z.object({}) })
      .step("review", human({ decision: z.boolean() }))
      .step(
        "after",
        fn(({ steps }) => (steps.review === true ? "approved" : "rejected")),
      )
      .edges({ review: "after", after: "done" })
    const results: RunResult<Record<string, unknown>>[] = []
    const errors: unknown[] = []
    const runId = await approval.submit({}, { journal })
    const running = worker({
      journal,
      pipelines: [approval],
      pollMs: 20,
      onResult: (result) => results.push(result),
      onError: (_, error) => errors.push(error),
    })
    await vi.waitFor(() => expect(results).toMatchObject([{ status: "awaiting-human", runId }]), { timeout: 5_000 })
    expect(await approval.decide(runId, "review", true, { journal })).toMatchObject({ status: "done", output: "approved" })
    await running.stop()
    expect(results).toHaveLength(1)
    expect(errors).toEqual([])
  })

  it("rejects invalid input on submit, journaling nothing", async () => {
    const journal = temporaryJournal()
    const { shipping } = makeShipping()
    await expect(shipping.submit({ order: 7 } as never, { journal })).rejects.toThrow(/order/)
    expect(journal.runs()).toEqual([])
    journal.close()
  })

  it("reports a run of a pipeline it does not know, and keeps going", async () => {
    const journal = temporaryJournal()
    const { shipping } = makeShipping()
    const other = pipeline({ id: "other", input: z.object({}) })
      .step(
        "x",
        fn(() => 1),
      )
      .edges({ x: "done" })
    await other.submit({}, { journal })
    const good = await shipping.submit({ order: "z" }, { journal })
    const results: string[] = []
    const running = worker({ journal, pipelines: [shipping], pollMs: 20, onResult: (result) => results.push(result.runId) })
    await vi.waitFor(() => expect(results).toEqual([good]), { timeout: 5_000 })
    await running.stop()
    journal.close()
  })
})
