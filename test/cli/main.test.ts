import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cli, removeTemporaryFolders, temporaryFolder } from "./run-cli.ts"

const greeting = "test/cli/fixtures/greeting.pipeline.ts"

afterEach(removeTemporaryFolders)

describe("switchboard --help", () => {
  it("describes the commands, the pipeline file conventions and the exit codes", async () => {
    const { code, stdout } = await cli("--help")
    expect(code).toBe(0)
    expect(stdout).toMatch(/Usage: switchboard/)
    expect(stdout).toMatch(/run \[options\] <file>/)
    expect(stdout).toMatch(/scriptedModels\(\)/)
    expect(stdout).toMatch(/0 done, 1 failed \(eval: a regression\), 2 usage error, 3 awaiting a human decision or stopped/)
  })

  it("describes the options of run", async () => {
    const { code, stdout } = await cli("run", "--help")
    expect(code).toBe(0)
    for (const option of ["--input <json>", "--json", "--journal <journal>", "--pipeline <export>"]) expect(stdout).toContain(option)
  })

  it("describes resume and worker, and the journal forms", async () => {
    const top = await cli("--help")
    expect(top.stdout).toMatch(/resume \[options\] <file> <runId>/)
    expect(top.stdout).toMatch(/worker \[options\] <file>/)
    expect(top.stdout).toMatch(/postgres:URL\[#schema\]/)
    const resume = await cli("resume", "--help")
    expect(resume.code).toBe(0)
    for (const option of ["--journal <journal>", "--json", "--pipeline <export>", "--allow-structure-change"]) expect(resume.stdout).toContain(option)
    const worker = await cli("worker", "--help")
    expect(worker.code).toBe(0)
    for (const option of ["--journal <journal>", "--concurrency <n>", "--poll <ms>", "--json", "SIGINT/SIGTERM"]) expect(worker.stdout).toContain(option)
  })

  it("exits 2 on an unknown option", async () => {
    const { code, stderr } = await cli("run", greeting, "--nope")
    expect(code).toBe(2)
    expect(stderr).toMatch(/unknown option '--nope'/)
  })
})

describe("switchboard run", () => {
  it("prints a line per step, the retry and routes, then the result, and exits 0", async () => {
    const { code, stdout, stderr } = await cli("run", greeting, "--pipeline", "greeting", "--input", '{"name":"  Ada "}')
    expect(stderr).toBe("")
    expect(code).toBe(0)
    const lines = stdout.trimEnd().split("\n")
    expect(lines[0]).toMatch(/^▶ greeting \(run [0-9a-f-]{36}\)$/)
    expect(lines.slice(1, 12)).toEqual([
      "→ normalize",
      expect.stringMatching(/^✓ normalize \d+ms$/),
      "  normalize ⇒ compose",
      "→ compose",
      expect.stringMatching(/^↻ compose attempt 1 failed, retrying in 1ms: ModelError \(rate-limited\): slow down$/),
      expect.stringMatching(/^✓ compose \d+ms, 2 attempts, 7\+3 tokens$/),
      "  compose ⇒ shout",
      "→ shout",
      expect.stringMatching(/^✓ shout \d+ms$/),
      "  shout ⇒ done",
      expect.stringMatching(/^■ done in \d+ms$/),
    ])
    expect(lines[12]).toBe("done: output of shout")
    expect(JSON.parse(lines.slice(13).join("\n"))).toEqual({ greeting: "HELLO, ADA!", length: 11 })
  })

  it("prints only the result as JSON with --json", async () => {
    const { code, stdout } = await cli("run", greeting, "--pipeline", "greeting", "--input", '{"name":"Ada"}', "--json")
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ status: "done", step: "shout", output: { greeting: "HELLO, ADA!" }, steps: { normalize: "Ada" } })
  })

  it("reads the input from @file.json", async () => {
    const file = join(temporaryFolder(), "input.json")
    writeFileSync(file, JSON.stringify({ name: "Grace" }))
    const { code, stdout } = await cli("run", greeting, "--pipeline", "greeting", "--input", `@${file}`, "--json")
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ steps: { normalize: "Grace" } })
  })

  it("uses the default export and the file's `models` over its scriptedModels()", async () => {
    const { code, stdout } = await cli("run", "test/cli/fixtures/echo.pipeline.ts", "--input", '{"text":"ping"}', "--json")
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ status: "done", output: "echo: ping" })
  })

  it("exits 1 on a failed run without printing the secret in the error", async () => {
    const { code, stdout } = await cli("run", greeting, "--pipeline", "failing")
    expect(code).toBe(1)
    expect(stdout).toMatch(/✗ explode failed after 1 attempt, \d+ms: StepCodeError: the fixture exploded/)
    expect(stdout).toMatch(/failed at explode: StepCodeError/)
    expect(stdout).not.toContain("sk-live1234567890abcdef")
    const json = await cli("run", greeting, "--pipeline", "failing", "--json")
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ status: "failed", error: { _tag: "StepCodeError", step: "explode" } })
    expect(json.stdout).not.toContain("sk-live1234567890abcdef")
  })

  it("exits 3 awaiting a human, and `decide` continues the run from the sqlite journal", async () => {
    const database = join(temporaryFolder(), "state", "runs.db")
    const paused = await cli("run", greeting, "--pipeline", "greeting", "--input", '{"name":"Ada","review":true}', "--journal", `sqlite:${database}`)
    expect(paused.code).toBe(3)
    expect(paused.stdout).toContain("⏸ review waits for a human decision")
    const runId = /awaiting a human decision on review \(run ([0-9a-f-]{36})\)/.exec(paused.stdout)?.[1]
    expect(runId).toBeDefined()
    expect(paused.stdout).toContain(`switchboard decide ${greeting} ${runId} review --decision '<json>' --journal sqlite:${database}`)

    const decided = await cli(
      "decide",
      greeting,
      String(runId),
      "review",
      "--pipeline",
      "greeting",
      "--decision",
      '{"approve":true}',
      "--journal",
      `sqlite:${database}`,
      "--json",
    )
    expect(decided.stderr).toBe("")
    expect(decided.code).toBe(0)
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: "done", runId, output: { greeting: "HELLO, ADA!" } })

    const listed = await cli("runs", "--journal", `sqlite:${database}`, "--json")
    expect(listed.code).toBe(0)
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId, pipeline: "greeting", status: "done" })])

    const again = await cli(
      "decide",
      greeting,
      String(runId),
      "review",
      "--pipeline",
      "greeting",
      "--decision",
      '{"approve":true}',
      "--journal",
      `sqlite:${database}`,
    )
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/cannot resume run .*: it has already finished/)
  })
})

describe("switchboard run usage errors (exit 2, nothing run)", () => {
  it("names --input when it is not JSON", async () => {
    const { code, stdout, stderr } = await cli("run", greeting, "--pipeline", "greeting", "--input", "{name: Ada}")
    expect(code).toBe(2)
    expect(stderr).toMatch(/^switchboard: --input is not valid JSON: /)
    expect(stdout).toBe("")
  })

  it("names each field of an input that does not match the pipeline's schema", async () => {
    const { code, stderr } = await cli("run", greeting, "--pipeline", "greeting", "--input", '{"name":3}')
    expect(code).toBe(2)
    expect(stderr).toMatch(/--input does not match the input of pipeline "greeting":\n {2}name: .*expected string/)
  })

  it("says when the file does not exist", async () => {
    const { code, stderr } = await cli("run", "test/cli/fixtures/missing.ts")
    expect(code).toBe(2)
    expect(stderr).toBe("switchboard: file not found: test/cli/fixtures/missing.ts\n")
  })

  it("lists the exports of a file without a pipeline", async () => {
    const { code, stderr } = await cli("run", "test/cli/fixtures/no-pipeline.ts")
    expect(code).toBe(2)
    expect(stderr).toMatch(/no-pipeline\.ts exports no pipeline \(its exports: answer, greet\)/)
  })

  it("asks which pipeline to run when a file exports several and no default", async () => {
    const { code, stderr } = await cli("run", greeting)
    expect(code).toBe(2)
    expect(stderr).toMatch(/exports several pipelines \(failing, greeting\); pick one with --pipeline NAME/)
  })

  it("rejects a journal it does not know, and a postgres journal without a postgres:// URL", async () => {
    const unknown = await cli("run", greeting, "--pipeline", "greeting", "--journal", "mysql://x")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--journal must be "memory", "sqlite:PATH" or "postgres:URL\[#schema\]", got "mysql:\/\/x"/)
    const bare = await cli("run", greeting, "--pipeline", "greeting", "--journal", "postgres://app:s3cret@db/app")
    expect(bare.code).toBe(2)
    expect(bare.stderr).toMatch(/--journal postgres:URL needs a postgres:\/\/ URL after "postgres:", got "postgres:\/\/app:\*\*\*@db\/app"/)
    expect(bare.stderr).not.toContain("s3cret")
    expect(bare.stdout).toBe("")
  })

  it("says when a postgres journal cannot be reached, before running anything, without its password", async () => {
    // Port 1 on 127.0.0.1 refuses connections at once.
    const { code, stdout, stderr } = await cli(
      "run",
      greeting,
      "--pipeline",
      "greeting",
      "--input",
      '{"name":"Ada"}',
      "--journal",
      "postgres:postgres://app:s3cret@127.0.0.1:1/app#billing",
    )
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /^switchboard: --journal postgres:postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app#billing: cannot open the database: postgresJournal: cannot prepare schema "billing" on 127\.0\.0\.1:1\/app: /,
    )
    expect(stderr).not.toContain("s3cret")
    expect(stdout).toBe("")
  })
})
