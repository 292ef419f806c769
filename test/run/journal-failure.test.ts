import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, type Journal, type JournalEntry, memoryJournal, pipeline } from "../../src/index.ts"

const chain = pipeline({ id: "two", input: z.object({}) })
  .step(
    "first",
    fn(() => 1),
  )
  .step(
    "second",
    fn(() => 2),
  )
  .edges({ first: "second", second: "done" })

const failingOn = (type: JournalEntry["type"], mode: "throw" | "reject"): Journal => {
  const inner = memoryJournal()
  return {
    ...inner,
    append: (entry) => {
      if (entry.type === type && "step" in entry && entry.step === "second") {
        if (mode === "throw") throw new Error("disk full")
        return Promise.reject(new Error("connection lost"))
      }
      return inner.append(entry)
    },
  }
}

describe("a journal that cannot write", () => {
  it.each([
    ["throws", "throw", "disk full"],
    ["rejects", "reject", "connection lost"],
  ] as const)("ends the run failed when append %s, without crashing", async (_, mode, message) => {
    const result = await chain.run({}, { journal: failingOn("step.finished", mode) })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining(`journal write failed: ${message}`) } })
    // the first step's output was journaled before the failure and is kept
    expect(result.steps).toMatchObject({ first: 1 })
  })

  it("keeps running when an event listener throws", async () => {
    const result = await chain.run(
      {},
      {
        onEvent: () => {
          throw new Error("listener bug")
        },
      },
    )
    expect(result).toMatchObject({ status: "done", output: 2 })
  })
})
