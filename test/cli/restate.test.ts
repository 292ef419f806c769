import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, type RestateServer, restateClient, startRestateServer } from "../../src/engines/restate/index.ts"
import { skipReason } from "../restate/support.ts"
import { cli, type Running, startCli } from "./run-cli.ts"

const reason = skipReason()
const fixture = "test/cli/fixtures/echo.pipeline.ts"
const greetingFixture = "test/cli/fixtures/greeting.pipeline.ts"

describe.skipIf(reason !== undefined)(`switchboard serve --restate and run --engine restate:URL${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  let server: RestateServer
  let serving: Running
  let servingGreeting: Running
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
    const greetingPort = await freePort()
    servingGreeting = startCli(["serve", greetingFixture, "--restate", "--port", String(greetingPort)])
    while (!servingGreeting.stderr().includes("as Restate workflows on")) {
      if (Date.now() > deadline || servingGreeting.child.exitCode !== null) throw new Error(`serve did not start: ${servingGreeting.stderr()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    await server.register(`http://127.0.0.1:${greetingPort}`)
  }, 90_000)

  afterAll(async () => {
    serving?.child.kill("SIGTERM")
    servingGreeting?.child.kill("SIGTERM")
    await serving?.finished
    await servingGreeting?.finished
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

  it("decides a run waiting on Restate from another shell: an invalid decision is refused, a valid one completes the run", async () => {
    const engine = `restate:${server.ingressUrl}`
    const running = startCli(["run", greetingFixture, "--pipeline", "greeting", "--engine", engine, "--input", '{"name":" Ada ","review":true}', "--json"])
    const deadline = Date.now() + 20_000
    let runId: string | undefined
    while (runId === undefined && Date.now() < deadline) {
      runId = /started run (\S+)/.exec(running.stderr())?.[1]
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(runId).toBeDefined()
    const client = restateClient({ ingress: server.ingressUrl })
    await expect.poll(() => client.waiting("greeting", runId as string), { timeout: 20_000 }).toEqual({ step: "review", visit: 1 })

    const invalid = await cli(
      "decide",
      greetingFixture,
      runId as string,
      "review",
      "--pipeline",
      "greeting",
      "--engine",
      engine,
      "--decision",
      '{"approve":"yes"}',
    )
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain("approve")
    expect(await client.waiting("greeting", runId as string)).toEqual({ step: "review", visit: 1 })

    const valid = await cli(
      "decide",
      greetingFixture,
      runId as string,
      "review",
      "--pipeline",
      "greeting",
      "--engine",
      engine,
      "--decision",
      '{"approve":true}',
    )
    expect(valid.code).toBe(0)
    expect(valid.stdout).toContain("accepted")
    const finished = await running.finished
    expect(finished.code).toBe(0)
    expect(JSON.parse(finished.stdout)).toMatchObject({ status: "done", output: { greeting: "HELLO, ADA!" } })
  }, 45_000)

  it("refuses input that does not match the pipeline, naming the field, and an engine it does not know", async () => {
    const invalid = await cli("run", fixture, "--engine", `restate:${server.ingressUrl}`, "--input", '{"text":1}')
    expect(invalid.code).toBe(2)
    expect(invalid.stderr).toContain("text")
    const unknown = await cli("run", fixture, "--engine", "temporal:http://127.0.0.1:1")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("--engine must be local or restate:INGRESS_URL")
    const noJournal = await cli("decide", greetingFixture, "some-run", "review", "--pipeline", "greeting", "--decision", "{}")
    expect(noJournal.code).toBe(2)
    // Without --engine or --journal, decide looks in the default journal (sqlite:.switchboard/runs.db).
    expect(noJournal.stderr).toContain("some-run")
  }, 30_000)
})
