import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cli, removeTemporaryFolders, temporaryFolder } from "./run-cli.ts"

const file = "test/cli/fixtures/refund-batch.pipeline.ts"

afterEach(removeTemporaryFolders)

describe("switchboard pending and decide by address", () => {
  it("lists every wait of a paused map with its schema, and decides them by address from other processes", async () => {
    const journal = `sqlite:${join(temporaryFolder(), "runs.db")}`
    const paused = await cli("run", file, "--input", '{"amounts":[10,25]}', "--journal", journal, "--json")
    expect(paused.code).toBe(3)
    const { runId, pending } = JSON.parse(paused.stdout) as { runId: string; pending: Array<{ path: string }> }
    expect(pending.map((wait) => wait.path)).toEqual(["approve[0]", "approve[1]"])

    const listed = await cli("pending", runId, file, "--journal", journal)
    expect(listed.code).toBe(3)
    expect(listed.stdout).toContain(`run ${runId} waits on 2 decisions:`)
    expect(listed.stdout).toContain('approve[1]  "Refund 25 EUR?"')
    expect(listed.stdout).toContain('expects {"type":"object","properties":{"approve":{"type":"boolean"}}')
    const json = await cli("pending", runId, "--journal", journal, "--json")
    expect(JSON.parse(json.stdout)).toEqual([
      { path: "approve[0]", step: "approve", visit: 1, prompt: "Refund 10 EUR?", deadline: null },
      { path: "approve[1]", step: "approve", visit: 1, prompt: "Refund 25 EUR?", deadline: null },
    ])

    const wrong = await cli("decide", file, runId, "approve[5]", "--decision", '{"approve":true}', "--journal", journal)
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/not waiting on "approve\[5\]"/)
    const first = await cli("decide", file, runId, "approve[1]", "--decision", '{"approve":true}', "--journal", journal, "--json")
    expect(JSON.parse(first.stdout)).toMatchObject({ status: "awaiting-human", pending: [{ path: "approve[0]" }] })
    const done = await cli("decide", file, runId, "approve[0]", "--decision", '{"approve":false}', "--journal", journal, "--json")
    expect(done.code).toBe(0)
    expect(JSON.parse(done.stdout)).toMatchObject({ status: "done", output: 25 })
    expect((await cli("pending", runId, "--journal", journal)).stdout).toContain("waits on no decision")
  }, 60_000)
})
