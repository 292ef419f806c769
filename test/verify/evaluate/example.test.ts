import { describe, expect, it } from "vitest"
import { main, mistakes } from "../../../examples/13-evaluate-on-your-data.ts"

describe("example 13: evaluate on your data", () => {
  it("scores the 40 shipped tickets with the labelled scripted model, deliberate mistakes included", async () => {
    const lines: string[] = []
    const { provider, report } = await main({ log: (line) => lines.push(line), environment: {}, write: false })
    expect(provider).toBe("scripted")
    expect(report.totals).toMatchObject({ rows: 40, done: 39, failed: 0, awaitingHuman: 1 })
    // 3 of the 4 mistakes give a wrong kind, 2 a wrong path; the unanswered review has no polite answer.
    expect(report.scorers).toEqual({
      kind: { mean: 0.925, scored: 40, perfect: 37 },
      path: { mean: 0.95, scored: 40, perfect: 38 },
      polite: { mean: 0.975, scored: 40, perfect: 39 },
    })
    const missed = (scorer: string) => report.rows.filter((row) => row.scores[scorer]?.score !== 1).map((row) => row.id)
    expect(missed("kind")).toEqual(["t07", "t15", "t21"])
    expect(missed("path")).toEqual(["t07", "t22"])
    expect(Object.keys(mistakes)).toEqual(["t07", "t15", "t21", "t22"])
    expect(report.coverage.uncovered).toEqual([
      { from: "review", to: "escalate" },
      { from: "escalate", to: "done" },
    ])
    expect(report.totals.costUsd).toBeGreaterThan(0)
    expect(lines.join("\n")).toContain("| kind | 92.5% | 40 | 37 |")
  })
})
