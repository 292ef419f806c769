import { describe, expect, it } from "vitest"
import { main } from "../examples/14-restate-cluster.ts"
import { skipReason } from "./restate/support.ts"

const reason = skipReason()

describe.skipIf(reason !== undefined)(`example 14: Restate cluster${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  it("finishes every order after the worker is killed while they ship; nothing packed twice, each order shipped once", async () => {
    const lines: string[] = []
    const summary = await main({ log: (line) => lines.push(line) })
    expect(summary.results.map((result) => result.status)).toEqual(["done", "done", "done"])
    expect(summary.results.map((result) => (result.status === "done" ? result.output : ""))).toEqual([
      "order A-1001 is on its way (trk-A-1001)",
      "order A-1002 is on its way (trk-A-1002)",
      "order A-1003 is on its way (trk-A-1003)",
    ])
    expect(Object.keys(summary.shipments).sort()).toEqual(summary.results.map((result) => `${result.runId}:ship:1`).sort())
    expect(Object.values(summary.shipments).every((count) => count === 1)).toBe(true)
    expect(summary.packed).toEqual(Object.fromEntries(summary.results.map((result) => [result.runId, 1])))
    // The kill landed while the orders were shipping: shipments were asked for again, with the same key.
    expect(summary.shipCalls).toBeGreaterThan(3)
    expect(lines.some((line) => line.startsWith(`killed worker ${summary.killedPid} with SIGKILL`))).toBe(true)
  }, 60_000)
})
