import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, startRestateServer, type RestateServer } from "../../src/restate/index.ts"
import { skipReason } from "../restate/support.ts"
import { cli, startCli, type Running } from "./run-cli.ts"

const reason = skipReason()
const fixture = "test/cli/fixtures/echo.pipeline.ts"

describe.skipIf(reason !== undefined)(`switchboard serve --restate and run --engine restate:URL${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  let server: RestateServer
  let serving: Running
  let directory: string

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-cli-restate-"))
    server = await startRestateServer()
    const port = await freePort()
    serving = startCli(["serve", fixture, "--restate", "--port", String(port), "--journal", `sqlite:${join(directory, "runs.db")}`])
    const deadline = Date.now() + 20_000
    while (!serving.stderr().includes("as Restate workflows on")) {
      if (Date.now() > deadline || serving.child.exitCode !== null) throw new Error(`serve did not start: ${serving.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await server.register(`http://127.0.0.1:${port}`)
  }, 90_000)

  afterAll(async () => {
    serving?.child.kill("SIGTERM")
    await serving?.finished
    await server?.stop()
    rmSync(directory, { recursive: true, force: true })
  })

  it("runs a pipeline file on Restate and shows its timeline from the mirrored journal", async () => {
    const ran = await cli("run", fixture, "--engine", `restate:${server.ingressUrl}`, "--input", '{"text":"hi"}', "--json")
    expect(ran.code).toBe(0)
    const result = JSON.parse(ran.stdout) as { status: string; output: string; runId: string }
    expect(result).toMatchObject({ status: "done", output: "echo: hi" })
    expect(ran.stderr).toContain(`started run ${result.runId}`)
    const shown = await cli("show", result.runId, "--journal", `sqlite:${join(directory, "runs.db")}`)
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain("say")
    expect(shown.stdout).toContain("done")
  }, 30_000)

  it("refuses input that does not match the pipeline, naming the field, and an engine it does not know", async () => {
    const invalid = await cli("run", fixture, "--engine", `restate:${server.ingressUrl}`, "--input", '{"text":1}')
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain("text")
    const unknown = await cli("run", fixture, "--engine", "temporal:http://127.0.0.1:1")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("--engine must be local or restate:INGRESS_URL")
  }, 30_000)
})
