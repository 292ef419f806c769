// Example 12 needs a Postgres server: skipped (with the reason) when there is none locally, and
// failing under CI, where locatePostgres() rejects instead.
import pg from "pg"
import { describe, expect, it } from "vitest"
import { main } from "../examples/12-workers-on-postgres.ts"
import { locatePostgres } from "./stores/postgres.ts"

const server = await locatePostgres()

describe.skipIf(!server.available)(`example 12: workers on Postgres${server.available ? "" : ` (skipped: ${server.reason})`}`, () => {
  it("finishes every run once the survivor takes over from the worker killed with SIGKILL; each order ships once", async () => {
    if (!server.available) return
    const lines: string[] = []
    const summary = await main({ log: (line) => lines.push(line), connectionString: server.url, runs: 12 })

    expect(summary.schema).toMatch(/^example_12_/)
    expect(summary.done).toBe(12)
    const { [summary.killed]: byKilled = [], [summary.survivor]: bySurvivor = [] } = summary.finishedBy
    expect(summary.killed).not.toBe(summary.survivor)
    expect([...byKilled, ...bySurvivor].sort()).toHaveLength(12)
    expect(new Set([...byKilled, ...bySurvivor]).size).toBe(12)
    // The kill landed midway: the killed worker had finished some runs, and had others in flight.
    expect(byKilled.length).toBeGreaterThan(0)
    expect(summary.takenOver.length).toBeGreaterThan(0)
    for (const runId of summary.takenOver) expect(bySurvivor).toContain(runId)

    expect(Object.keys(summary.shipments).sort()).toEqual([...byKilled, ...bySurvivor].map((runId) => `${runId}:ship:1`).sort())
    expect(Object.values(summary.shipments).every((count) => count === 1)).toBe(true)
    expect(summary.shipCalls).toBeGreaterThanOrEqual(12)
    expect(summary.survivorExitCode).toBe(0)
    expect(lines.at(-1)).toMatch(/^12 orders shipped once each; \d+ repeated call\(s\) after the kill shipped nothing new$/)

    // The example's schema is gone.
    const client = new pg.Client({ connectionString: server.url })
    await client.connect()
    const left = await client.query("SELECT nspname FROM pg_namespace WHERE nspname = $1", [summary.schema])
    await client.end()
    expect(left.rows).toEqual([])
  }, 120_000)
})
