import { describe, expect, it } from "vitest"
import { z } from "zod"
import { callTool, type DurationInput, memoryJournal, pipeline, tool } from "../../src/index.ts"

// A tool that never answers unless its signal aborts: what a hung HTTP call looks like.
const hanging = (timeout: DurationInput | undefined, seen: AbortSignal[]) =>
  tool({
    name: "lookup",
    input: z.object({ id: z.string() }),
    ...(timeout === undefined ? {} : { timeout }),
    run: (_args, { signal }) => {
      seen.push(signal)
      return new Promise<string>(() => {})
    },
  })

describe("callTool and the tool's timeout", () => {
  it("ends a call that never answers at the tool's timeout, aborting its signal", async () => {
    const seen: AbortSignal[] = []
    const steps = pipeline({ id: "lookup", input: z.object({}) })
      .step(
        "find",
        callTool(hanging("80ms", seen), () => ({ id: "a" })),
      )
      .edges({ find: "done" })
    const result = await steps.run({}, { journal: memoryJournal() })
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepTimeoutError", step: "find", scope: "attempt", ms: 80 } })
    expect(seen).toHaveLength(1)
    expect(seen[0]?.aborted).toBe(true)
  })

  it("keeps a step's shorter attemptTimeout for each of its attempts", async () => {
    const seen: AbortSignal[] = []
    const steps = pipeline({ id: "lookup", input: z.object({}) })
      .step(
        "find",
        callTool(hanging("10s", seen), () => ({ id: "a" }), { policy: { attemptTimeout: "40ms", retry: { attempts: 2, initialDelay: "10ms" } } }),
      )
      .edges({ find: "done" })
    const result = await steps.run({}, {})
    expect(result).toMatchObject({ status: "failed", error: { _tag: "StepTimeoutError", ms: 40 } })
    expect(seen.map((signal) => signal.aborted)).toEqual([true, true])
  })
})
