import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cli, removeTemporaryFolders, temporaryFolder } from "./run-cli.ts"

afterEach(removeTemporaryFolders)

describe("switchboard run --log", () => {
  it("writes every event of the run as one JSON line, secrets masked", async () => {
    const log = join(temporaryFolder(), "run.jsonl")
    const finished = await cli("run", "test/cli/fixtures/echo.pipeline.ts", "--input", '{"text":"key sk-abcdefghijklmnop"}', "--log", log)
    expect(finished.code).toBe(0)
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; time: string })
    expect(lines.map((line) => line.type)).toEqual(["run.started", "step.started", "model.called", "step.finished", "route.taken", "run.finished"])
    expect(lines.every((line) => !Number.isNaN(Date.parse(line.time)))).toBe(true)
    expect(readFileSync(log, "utf8")).not.toContain("sk-abcdefghijklmnop")
  })
})
