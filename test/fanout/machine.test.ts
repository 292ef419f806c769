// machines/research-digest beyond the generic machine checks: what its map collects.
import { describe, expect, it } from "vitest"
import researchDigest, { samples, scriptedModels } from "../../machines/research-digest.machine.ts"
import { check, memoryJournal } from "../../src/index.ts"

describe("machines/research-digest", () => {
  it("passes check() with its map capped", () => {
    expect(check(researchDigest)).toEqual([])
  })

  it("collects an unreadable source as a failed item and answers from the others", async () => {
    const sample = samples.find((candidate) => candidate.name.startsWith("an unreadable source")) ?? samples[0]
    const journal = memoryJournal()
    const result = await researchDigest.run(sample?.input ?? { question: "", sources: [] }, { models: scriptedModels(), journal, runId: "r" })
    expect(result).toMatchObject({
      status: "done",
      step: "write",
      output: "Mostly at night. (1 facts)",
      steps: {
        read: [
          { ok: true, value: { relevant: true } },
          { ok: false, error: { _tag: "ModelError", step: "read[1]", reason: "invalid-request" } },
        ],
      },
    })
    expect((await journal.read("r")).find((entry) => entry.type === "map.listed")).toMatchObject({ step: "read", count: 2 })
  })
})
