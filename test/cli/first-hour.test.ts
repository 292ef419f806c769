// A newcomer's first hour with the CLI, in a fresh project folder: no flags to start (a default
// journal under .switchboard/), TypeScript that Node's type stripping cannot run (enums,
// parameter properties, decorators, tsconfig `paths`), `runs --status` with ages, `decide`
// showing the decision it expects, and errors matched by name whatever copy of the class threw.
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { formatAge, parseStatuses } from "../../src/cli/age.ts"
import { isErrorNamed } from "../../src/cli/error-names.ts"
import { resolveJournal } from "../../src/cli/journal-option.ts"
import { nodeVersionProblem } from "../../src/cli/node-version.ts"
import { root } from "./run-cli.ts"

const main = join(root, "src/cli/main.ts")
let project = ""

// The CLI as a user runs it: in their project folder, with no SWITCHBOARD_ variables set.
const cli = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("SWITCHBOARD_")))
    const child = spawn(process.execPath, [main, ...args], { cwd: project, env: { ...clean, NO_COLOR: "1", CI: "1", ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const runIdOf = (stdout: string): string => {
  const match = /"runId":\s*"([^"]+)"/.exec(stdout)
  if (match === null) throw new Error(`no runId in: ${stdout}`)
  return match[1] as string
}

beforeAll(() => {
  // Inside the repository (under the ignored .switchboard/), so zod resolves from its node_modules.
  mkdirSync(join(root, ".switchboard"), { recursive: true })
  project = mkdtempSync(join(root, ".switchboard/first-hour-"))
  mkdirSync(join(project, "lib"))
  // `paths` maps the package name to this repository's source, and `#lib/*` to a folder.
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "es2022",
        module: "nodenext",
        strict: true,
        experimentalDecorators: true,
        paths: { switchboard: [join(root, "src/index.ts")], "#lib/*": ["./lib/*"] },
      },
    }),
  )
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "first-hour", private: true, type: "module" }))
  writeFileSync(
    join(project, "lib/greeter.ts"),
    `export enum Tone { Warm = "warm", Plain = "plain" }

const logged = (_target: object, _key: string, descriptor: PropertyDescriptor) => descriptor

export class Greeter {
  constructor(private readonly tone: Tone) {}
  @logged
  greet(name: string): string {
    return this.tone === Tone.Warm ? \`Hello, \${name}!\` : \`Hi \${name}\`
  }
}
`,
  )
  writeFileSync(
    join(project, "greeting.ts"),
    `import { fn, human, pipeline } from "switchboard"
import { z } from "zod"
import { Greeter, Tone } from "#lib/greeter.ts"

const greeter = new Greeter(Tone.Warm)
export default pipeline({ id: "greeting", input: z.object({ name: z.string() }) })
  .step("greet", fn(({ input }) => greeter.greet(input.name)))
  .step("review", human({ decision: z.object({ approve: z.boolean(), note: z.string().optional() }) }))
  .edges({ greet: "review", review: "done" })
`,
  )
  // A file whose "pipeline" throws its own ResumeError: a second copy of the class, as machines/
  // (importing src/) bring when the CLI runs from dist/.
  writeFileSync(
    join(project, "other-copy.ts"),
    `class ResumeError extends Error {
  override readonly name = "ResumeError"
}
export default {
  id: "other-copy",
  machine: {},
  input: { safeParse: (value: unknown) => ({ success: true, data: value }) },
  run: async () => ({}),
  resume: async (runId: string) => {
    throw new ResumeError(\`run \${runId} is not in the journal\`)
  },
}
`,
  )
})

afterAll(() => rmSync(project, { recursive: true, force: true }))

describe("the CLI with no flags", () => {
  it("runs a TypeScript file with an enum, a parameter property, a decorator and tsconfig paths, then shows and lists it from the default journal", async () => {
    const ran = await cli(["run", "greeting.ts", "--input", '{"name":"Ada"}', "--json"])
    expect(ran.stderr).toBe("")
    expect(ran.code).toBe(3)
    expect(JSON.parse(ran.stdout)).toMatchObject({ status: "awaiting-human", step: "review", steps: { greet: "Hello, Ada!" } })
    expect(existsSync(join(project, ".switchboard/runs.db"))).toBe(true)
    const runId = runIdOf(ran.stdout)

    const shown = await cli(["show", runId])
    expect(shown.stderr).toBe("")
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain("greet")

    const waiting = await cli(["runs", "--status", "awaiting-human"])
    expect(waiting.stdout).toMatch(new RegExp(`${runId}\\s+greeting\\s+awaiting-human\\s+(just now|\\d+s ago)`))
    const none = await cli(["runs", "--status", "failed"])
    expect(none.stdout.trim()).toBe("no failed runs")
    const wrong = await cli(["runs", "--status", "finished"])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain('--status must be one or more of running, awaiting-human, done, failed, stopped (comma-separated), got "finished"')

    // Without --decision, and with one of the wrong shape, decide prints the schema it expects.
    const bare = await cli(["decide", "greeting.ts", runId, "review"])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toContain('step "review" expects a decision of this JSON Schema:')
    expect(bare.stderr).toMatch(/"approve":\s*\{\s*"type":\s*"boolean"/)
    const misshapen = await cli(["decide", "greeting.ts", runId, "review", "--decision", '{"approve":"yes"}'])
    expect(misshapen.code).toBe(2)
    expect(misshapen.stderr).toContain('step "review" expects a decision of this JSON Schema:')

    const decided = await cli(["decide", "greeting.ts", runId, "review", "--decision", '{"approve":true}', "--json"])
    expect(decided.code).toBe(0)
    expect(JSON.parse(decided.stdout)).toMatchObject({ status: "done" })
  }, 120_000)

  it("takes the journal from SWITCHBOARD_JOURNAL, and --journal over it", async () => {
    const elsewhere = join(project, "elsewhere.db")
    const ran = await cli(["run", "greeting.ts", "--input", '{"name":"Bo"}', "--json"], { SWITCHBOARD_JOURNAL: `sqlite:${elsewhere}` })
    const runId = runIdOf(ran.stdout)
    expect((await cli(["runs"], { SWITCHBOARD_JOURNAL: `sqlite:${elsewhere}` })).stdout).toContain(runId)
    expect((await cli(["runs"])).stdout).not.toContain(runId)
    expect((await cli(["runs", "--journal", `sqlite:${elsewhere}`])).stdout).toContain(runId)
  }, 60_000)

  it("reports another copy's ResumeError in one line with exit 2, not as an unexpected error", async () => {
    const resumed = await cli(["resume", "other-copy.ts", "r-1"])
    expect(resumed.code).toBe(2)
    expect(resumed.stderr.trim()).toBe("switchboard: run r-1 is not in the journal")
  }, 30_000)
})

describe("the CLI's small parts", () => {
  it("resolves the journal: flag, then SWITCHBOARD_JOURNAL, then the default", () => {
    expect(resolveJournal(undefined, {})).toBe("sqlite:.switchboard/runs.db")
    expect(resolveJournal(undefined, { SWITCHBOARD_JOURNAL: " " })).toBe("sqlite:.switchboard/runs.db")
    expect(resolveJournal(undefined, { SWITCHBOARD_JOURNAL: "sqlite:/tmp/a.db" })).toBe("sqlite:/tmp/a.db")
    expect(resolveJournal("memory", { SWITCHBOARD_JOURNAL: "sqlite:/tmp/a.db" })).toBe("memory")
  })

  it("says a run's age in its largest whole unit, and parses --status", () => {
    expect([0, 42_000, 90_000, 5 * 3_600_000, 3 * 86_400_000, -5_000].map(formatAge)).toEqual(["just now", "42s ago", "1m ago", "5h ago", "3d ago", "just now"])
    expect(parseStatuses("failed, awaiting-human")).toEqual({ statuses: ["failed", "awaiting-human"] })
    expect(parseStatuses("done,finished")).toEqual({ unknown: "finished" })
    expect(parseStatuses(undefined)).toEqual({})
  })

  it("names the Node version it needs when this one is older", () => {
    expect(nodeVersionProblem("20.19.0", ">=22.13.0")).toBe(
      "switchboard needs Node >=22.13.0 (package.json engines); this is Node 20.19.0. Install a newer Node (e.g. nvm install 24) and run it again.",
    )
    expect(nodeVersionProblem("22.12.9", ">=22.13.0")).toMatch(/needs Node >=22.13.0/)
    expect(nodeVersionProblem("22.13.0", ">=22.13.0")).toBeUndefined()
    expect(nodeVersionProblem("24.1.0", ">=22.13.0")).toBeUndefined()
  })

  it("matches errors by name, whichever copy of the class threw", () => {
    class ResumeError extends Error {
      override readonly name = "ResumeError"
    }
    expect(isErrorNamed(new ResumeError("x"), "ResumeError")).toBe(true)
    expect(isErrorNamed(new Error("x"), "ResumeError")).toBe(false)
    expect(isErrorNamed("ResumeError", "ResumeError")).toBe(false)
  })
})
