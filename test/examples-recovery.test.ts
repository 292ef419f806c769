// Example 17 (retry, fork, drain) runs silenced and must do what its comments promise.
import { describe, expect, it } from "vitest"
import { main as retryAndFork } from "../examples/17-retry-and-fork.ts"

describe("recovery example", () => {
  it("17 retries only the failed paragraph, forks with an edited glossary, and drains a run that resume finishes", async () => {
    const { failed, retried, rerun, retryCalls, forked, forkCalls, drained, left, resumed } = await retryAndFork({ log: () => {} })
    expect(failed).toMatchObject({ status: "failed", error: { step: "translate[2]" } })
    // The failed paragraph, and the one fail-fast never started; paragraphs 0, 1 and 3 come from the journal.
    expect(rerun).toEqual(["translate", "translate[2]", "translate[4]", "join"])
    expect(retryCalls).toBe(2)
    expect(retried).toMatchObject({ status: "done", output: expect.stringContaining("Le hibou is silent.") })
    expect(forked).toMatchObject({ status: "done", runId: "t-2", output: expect.stringMatching(/^La chouette hunts\./) })
    expect(forkCalls).toBe(5)
    expect(drained).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: expect.stringContaining("was drained") } })
    expect(left).not.toContain("run.finished")
    expect(resumed).toMatchObject({ status: "done" })
  })
})
