// Example 18 (a person approves each item of a batch) runs silenced and must do what its comments promise.
import { describe, expect, it } from "vitest"
import { main } from "../examples/18-approve-each-item.ts"

describe("example 18", () => {
  it("pauses every refund of the batch, takes one decision by address, refuses a wrong batch whole, then takes the rest in one call", async () => {
    const lines: string[] = []
    const { paused, one, refused, finished } = await main({ log: (line) => lines.push(line) })
    expect(paused.status === "awaiting-human" ? paused.pending?.map((wait) => [wait.path, wait.prompt]) : []).toEqual([
      ["approve[0]", "Refund 30 EUR on order A-1?"],
      ["approve[1]", "Refund 950 EUR on order B-2?"],
      ["approve[2]", "Refund 12 EUR on order C-3?"],
    ])
    expect(paused.status === "awaiting-human" ? paused.pending?.every((wait) => typeof wait.deadline === "number") : false).toBe(true)
    expect(one.status === "awaiting-human" ? one.pending?.map((wait) => wait.path) : []).toEqual(["approve[0]", "approve[2]"])
    expect(refused).toMatchObject({ reason: "invalid-decision", message: expect.stringContaining('"approve[2]"') })
    expect(finished).toMatchObject({ status: "done", output: { paid: ["A-1", "C-3"], total: 42 } })
    expect(lines.at(-1)).toBe('done: {"paid":["A-1","C-3"],"total":42}')
  })
})
