// Examples 15 and 16 (fan-out) run silenced and must do what their comments promise.
import { describe, expect, it } from "vitest"
import { main as parallelAndMap } from "../examples/15-parallel-and-map.ts"
import { main as nested } from "../examples/16-nested-pipeline.ts"

const silent = { log: () => {} }

describe("fan-out examples", () => {
  it("15 extracts in parallel, summarises five documents three at a time in input order, and combines them", async () => {
    const { result, finishedOrder, mostInFlight, calls } = await parallelAndMap(silent)
    expect(result).toMatchObject({ status: "done", step: "combine", output: "Digest (5 items)" })
    expect(result.steps.brief).toEqual({ audience: "executives", tone: "crisp", topic: "platform team update", words: 20 })
    expect(result.steps.summaries?.map((summary) => summary.split(":")[0])).toEqual(["Outage report", "Roadmap", "Hiring", "Incidents Q1", "Costs"])
    // Later documents answer sooner: the finishing order is not the input order.
    expect(finishedOrder).not.toEqual([...finishedOrder].sort())
    expect(mostInFlight).toBe(3)
    expect(calls).toBe(2 + 5 + 1)
  })

  it("16 reuses one child pipeline as a step and per follow-up, journals its steps under paths, and routes its failure", async () => {
    const { classified, paths, unclassifiable } = await nested(silent)
    expect(classified).toMatchObject({ status: "done", step: "plan", output: { queue: "urgent-bug", followUps: ["refund", "question"] } })
    expect(paths).toEqual(expect.arrayContaining(["first.label", "first.queue", "first", "followUps[0].label", "followUps[1].queue", "followUps"]))
    expect(unclassifiable).toMatchObject({ status: "done", step: "triageByHand", output: { queue: "manual" } })
  })
})
