import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cli, removeTemporaryFolders, temporaryFolder } from "./run-cli.ts"

const file = "test/cli/fixtures/refund-agent.pipeline.ts"

afterEach(removeTemporaryFolders)

describe("switchboard decide on an agent's tool approval", () => {
  it("pauses on the call, then edits it from another process and finishes", async () => {
    const database = join(temporaryFolder(), "runs.db")
    const paused = await cli("run", file, "--input", '{"ticket":"refund A-1"}', "--journal", `sqlite:${database}`, "--json")
    expect(paused.code).toBe(3)
    const waiting = JSON.parse(paused.stdout) as { status: string; runId: string; step: string; prompt: string }
    expect(waiting).toMatchObject({ status: "awaiting-human", step: "refund", prompt: expect.stringContaining('issueRefund({"orderId":"A-1","amount":30})') })

    const invalid = await cli("decide", file, waiting.runId, "refund", "--decision", '{"action":"maybe"}', "--journal", `sqlite:${database}`)
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toMatch(/expected "approve", "reject" or "edit"/)

    const decided = await cli(
      "decide",
      file,
      waiting.runId,
      "refund",
      "--decision",
      '{"action":"edit","arguments":{"orderId":"A-1","amount":20}}',
      "--journal",
      `sqlite:${database}`,
      "--json",
    )
    expect(decided.stderr).toBe("")
    expect(decided.code).toBe(0)
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: "done", output: 'result: {"refunded":"A-1:20"}' })
  })
})
