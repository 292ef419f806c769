import { EventEmitter } from "node:events"
import type { Client } from "pg"
import { describe, expect, it } from "vitest"
import { claimSession } from "../../src/stores/postgres-connections.ts"

// A stand-in for pg's Client that counts statements in flight at once on the connection.
const countingClient = () => {
  const stats = { inFlight: 0, peak: 0, statements: 0 }
  const client = Object.assign(new EventEmitter(), {
    connect: async () => {},
    end: async () => {},
    query: async () => {
      stats.inFlight++
      stats.statements++
      stats.peak = Math.max(stats.peak, stats.inFlight)
      await new Promise((resolve) => setTimeout(resolve, 2))
      stats.inFlight--
      return { rows: [{ locked: true }] }
    },
  })
  return { client: client as unknown as Client, stats }
}

describe("the Postgres claim session", () => {
  it("never runs two statements at once on its connection, however many runs claim and release together", async () => {
    const { client, stats } = countingClient()
    const session = claimSession(() => client)
    const claims = await Promise.all(
      Array.from({ length: 20 }, () =>
        session.hold(
          async (connection) => (await connection.query("SELECT pg_try_advisory_lock(1) AS locked")).rows[0].locked as boolean,
          (connection) => connection.query("SELECT pg_advisory_unlock(1)"),
          () => {},
        ),
      ),
    )
    await Promise.all(claims.map((claim) => claim?.release()))
    expect(stats.statements).toBe(40)
    expect(stats.peak).toBe(1)
  })
})
