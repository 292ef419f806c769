// The package as users get it: built, packed to a tarball, installed into a fresh project, then
// imported by plain Node and type-checked by tsc. Nothing here reads src/ — only what npm ships.
import { execFile } from "node:child_process"
import { existsSync } from "node:fs"
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { installTsconfig, notRunOffline, readmeSnippets } from "./readme-snippets.ts"

const run = promisify(execFile)
const repository = fileURLToPath(new URL("..", import.meta.url))
const manifest = JSON.parse(await readFile(join(repository, "package.json"), "utf8")) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
  peerDependencies: Record<string, string>
  engines: { node: string }
  files: string[]
}
// npm and the installed bin run on the Node that runs this test (24), not whatever `node` is first on PATH.
const environment = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env["PATH"] ?? ""}` }
const exec = (command: string, args: readonly string[], cwd: string) => run(command, args, { cwd, env: environment, maxBuffer: 32 * 1024 * 1024 })

const temporary: string[] = []
let project = ""
// The package is built and packed in a staging copy, so concurrent test runs never race on the repo's dist/.
let staging = ""
let packedFiles: string[] = []
let tarballPath = ""
// What a user installs beside switchboard (README, Install), at the versions this repository tests with.
const installedBeside = [
  "zod",
  "xstate",
  "effect",
  "openai",
  "@anthropic-ai/sdk",
  "@restatedev/restate-sdk",
  "@types/node",
  "@modelcontextprotocol/sdk",
  "@ai-sdk/provider",
  "@ai-sdk/openai-compatible",
]

const filesUnder = async (folder: string): Promise<string[]> => {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(folder, join(entry.parentPath, entry.name)))
}

beforeAll(async () => {
  staging = await mkdtemp(join(tmpdir(), "switchboard-staging-"))
  const packDirectory = await mkdtemp(join(tmpdir(), "switchboard-pack-"))
  project = await mkdtemp(join(tmpdir(), "switchboard-consumer-"))
  temporary.push(staging, packDirectory, project)
  // What `npm run build` (the prepack script) runs, with the output in the staging copy:
  // declarations from tsc, JavaScript bundled per public entry by rolldown.
  await exec(join(repository, "node_modules/.bin/tsc"), ["-p", join(repository, "tsconfig.build.json"), "--outDir", join(staging, "dist")], repository)
  await exec(process.execPath, [join(repository, "node_modules/rolldown/bin/cli.mjs"), "-c", "rolldown.config.mjs", "--dir", join(staging, "dist")], repository)
  for (const file of ["package.json", "README.md", "LICENSE", "CHANGELOG.md"])
    if (existsSync(join(repository, file))) await copyFile(join(repository, file), join(staging, file))
  const packed = await exec("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", packDirectory], staging)
  const [tarball] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  if (tarball === undefined) throw new Error(`npm pack printed no tarball: ${packed.stdout}`)
  packedFiles = tarball.files.map((file) => file.path)
  tarballPath = join(packDirectory, tarball.filename)
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }))
  await exec(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", tarballPath, ...installedBeside.map((name) => `${name}@${manifest.devDependencies[name]}`)],
    project,
  )
}, 180_000)

afterAll(async () => {
  await Promise.all(temporary.map((folder) => rm(folder, { recursive: true, force: true })))
})

const node = async (script: string, source: string) => {
  await writeFile(join(project, script), source)
  const { stdout } = await exec(process.execPath, [script], project)
  return JSON.parse(stdout) as unknown
}

describe("the published package", () => {
  it("builds one bundle per public entry, lazy chunks beside them, and declarations for every entry", async () => {
    const files = await filesUnder(join(staging, "dist"))
    expect(files).toEqual(
      expect.arrayContaining([
        "index.js",
        "index.d.ts",
        "testing/index.js",
        "testing/index.d.ts",
        "restate/index.js",
        "engines/restate/index.d.ts",
        "cli/main.js",
      ]),
    )
    const javascript = files.filter((file) => file.endsWith(".js"))
    // The entries and their shared or lazily imported chunks; no per-source-file JavaScript.
    expect(javascript.filter((file) => !file.startsWith("chunks/")).sort()).toEqual(["cli/main.js", "index.js", "restate/index.js", "testing/index.js"])
    for (const file of javascript) {
      const source = await readFile(join(staging, "dist", file), "utf8")
      // Relative imports point at emitted JavaScript only; dependencies stay bare imports.
      expect(source, file).not.toMatch(/from\s+["']\.{1,2}\/[^"']*\.ts["']/)
      expect(source, file).not.toMatch(/import\(["']\.{1,2}\/[^"']*\.ts["']\)/)
    }
    // The step runtime (Effect) is only ever imported lazily: the main entry's static import
    // closure holds no execute chunk (and no Effect runtime).
    const closure = new Set<string>()
    const visit = async (file: string): Promise<void> => {
      if (closure.has(file)) return
      closure.add(file)
      const source = await readFile(join(staging, "dist", file), "utf8")
      for (const [, target] of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        await visit(join(dirname(file), target as string))
      }
    }
    await visit("index.js")
    expect([...closure].filter((file) => /execute-/.test(file))).toEqual([])
    expect(javascript.some((file) => /^chunks\/execute-[\w-]+\.js$/.test(file))).toBe(true)
  })

  it("ships dist only: no sources, no tests", () => {
    expect(packedFiles).toEqual(expect.arrayContaining(["package.json", "dist/index.js", "dist/index.d.ts", "dist/testing/index.js"]))
    expect(packedFiles.filter((file) => /^(src|test|bench|examples|machines)\//.test(file))).toEqual([])
    expect(packedFiles.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([])
  })

  it("runs a two-step pipeline from plain Node with the scripted model", async () => {
    const output = await node(
      "two-steps.mjs",
      `
      import { z } from "zod"
      import { pipeline, fn, llm } from "switchboard"
      import { scriptedModel } from "switchboard/testing"

      const summarize = pipeline({ id: "summarize", input: z.object({ text: z.string() }) })
        .step("words", fn(({ input }) => input.text.split(" ").length))
        .step("summary", llm({
          model: "fast",
          prompt: ({ input, steps }) => \`Summarize in \${steps.words} words: \${input.text}\`,
          output: z.object({ summary: z.string(), words: z.number() }),
        }))
        .edges({ words: "summary", summary: "done" })
      const fast = scriptedModel([{ object: { summary: "short", words: 1 } }])
      const result = await summarize.run({ text: "a few words here" }, { models: { fast } })
      console.log(JSON.stringify({ result, prompts: fast.calls.map((call) => call.request.messages.at(-1).content) }))
    `,
    )
    expect(output).toMatchObject({
      result: { status: "done", step: "summary", output: { summary: "short", words: 1 }, steps: { words: 4 } },
      prompts: ["Summarize in 4 words: a few words here"],
    })
  })

  it("exposes only the public entries: internals and dist paths are blocked", async () => {
    const output = await node(
      "blocked.mjs",
      `
      const attempt = async (specifier) => {
        try {
          await import(specifier)
          return "loaded"
        } catch (error) {
          return error.code
        }
      }
      console.log(JSON.stringify({
        internal: await attempt("switchboard/internal/anything.js"),
        dist: await attempt("switchboard/dist/errors.js"),
        source: await attempt("switchboard/src/index.ts"),
        manifest: (await import("switchboard/package.json", { with: { type: "json" } })).default.name,
      }))
    `,
    )
    expect(output).toEqual({
      internal: "ERR_PACKAGE_PATH_NOT_EXPORTED",
      dist: "ERR_PACKAGE_PATH_NOT_EXPORTED",
      source: "ERR_PACKAGE_PATH_NOT_EXPORTED",
      manifest: "switchboard",
    })
  })

  it("loads no provider SDK on import, and depends on none", async () => {
    const sdks = ["openai", "@anthropic-ai/sdk"]
    for (const sdk of sdks) expect(Object.keys(manifest.dependencies)).not.toContain(sdk)
    const loaded = (await node(
      "loaded.mjs",
      `
      import { registerHooks } from "node:module"
      const urls = []
      registerHooks({ load: (url, context, nextLoad) => (urls.push(url), nextLoad(url, context)) })
      await import("switchboard")
      await import("switchboard/testing")
      console.log(JSON.stringify(urls))
    `,
    )) as string[]
    expect(loaded.some((url) => url.includes("/node_modules/switchboard/dist/index.js"))).toBe(true)
    expect(loaded.filter((url) => /\/node_modules\/(openai|@anthropic-ai)\//.test(url))).toEqual([])
  })

  it("type-checks a TypeScript consumer against the shipped declarations", async () => {
    const consumer = join(project, "typed")
    await mkdir(consumer)
    // skipLibCheck off, so our .d.ts files are checked too; "dom" because effect's crypto types name CryptoKey.
    await writeFile(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2024",
          lib: ["es2024", "dom"],
          module: "nodenext",
          moduleResolution: "nodenext",
          types: ["node"],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        include: ["*.ts"],
      }),
    )
    await writeFile(
      join(consumer, "consumer.ts"),
      `
      import { z } from "zod"
      import { pipeline, fn, llm, type RunResult } from "switchboard"
      import { scriptedModel } from "switchboard/testing"

      const shout = pipeline({ id: "shout", input: z.object({ text: z.string() }) })
        .step("upper", fn(({ input }) => input.text.toUpperCase()))
        .step("length", llm({ model: "fast", prompt: ({ steps }) => steps.upper ?? "", output: z.object({ length: z.number() }) }))
        .edges({ upper: "length", length: "done" })

      export const lengthOf = async (text: string): Promise<number | undefined> => {
        const result: RunResult<{ upper: string; length: { length: number } }> = await shout.run({ text }, { models: { fast: scriptedModel(["{}"]) } })
        if (result.status !== "done" || result.step !== "length") return undefined
        // The declarations carry real types, not any: this must not compile.
        // @ts-expect-error "width" is no field of the step's output
        void result.output.width
        return result.output.length
      }
      // @ts-expect-error the input schema wants a string
      void shout.run({ text: 1 })
    `,
    )
    const tsc = join(repository, "node_modules/.bin/tsc")
    const diagnostics = await exec(tsc, ["-p", consumer], project).then(
      ({ stdout, stderr }) => `${stdout}${stderr}`,
      (error: Error & { stdout?: string; stderr?: string }) => `${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`,
    )
    expect(diagnostics).toBe("")
  })

  it("ships its licence and changelog, and takes zod, xstate and effect as peers (one copy: the user's)", () => {
    expect(packedFiles).toEqual(expect.arrayContaining(["LICENSE", "CHANGELOG.md", "README.md"]))
    for (const peer of ["zod", "xstate", "effect"]) {
      expect(Object.keys(manifest.dependencies)).not.toContain(peer)
      expect(manifest.peerDependencies[peer], peer).toMatch(/^\^\d+\.\d+\.\d+$/)
    }
  })

  it("publint finds nothing to report in the tarball", async () => {
    const { stdout } = await exec(process.execPath, [join(repository, "node_modules/publint/src/cli.js"), "run", tarballPath, "--level", "suggestion"], project)
    expect(stdout).toMatch(/All good!/)
  }, 60_000)

  it("are-the-types-wrong finds no problem for ESM consumers (node16, bundler)", async () => {
    const attw = join(repository, "node_modules/@arethetypeswrong/cli/dist/index.js")
    const result = await exec(process.execPath, [attw, tarballPath, "--profile", "esm-only", "--format", "json"], project).then(
      ({ stdout }) => ({ stdout, code: 0 }),
      (error: Error & { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? "", code: error.code ?? 1 }),
    )
    // The JSON lists every resolution; the esm-only profile leaves out CommonJS (node16-cjs) and node10, which an ESM-only package does not serve.
    const report = JSON.parse(result.stdout) as { problems?: Record<string, Array<{ resolutionKind?: string }>> }
    const problems = Object.values(report.problems ?? {})
      .flat()
      .filter((problem) => problem.resolutionKind !== "node16-cjs" && problem.resolutionKind !== "node10")
    expect(problems).toEqual([])
    expect(result.code).toBe(0)
  }, 60_000)

  it("every README block type-checks against the installed package under the README's tsconfig, and the offline ones run", async () => {
    const folder = join(project, "readme")
    await mkdir(folder)
    await writeFile(join(folder, "tsconfig.json"), JSON.stringify(installTsconfig()))
    const snippets = readmeSnippets()
    for (const snippet of snippets) await writeFile(join(folder, snippet.file), snippet.source)
    const diagnostics = await exec(join(repository, "node_modules/.bin/tsc"), ["-p", folder], folder).then(
      ({ stdout, stderr }) => `${stdout}${stderr}`,
      (error: Error & { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}` || error.message,
    )
    expect(diagnostics).toBe("")
    for (const snippet of snippets.filter((candidate) => notRunOffline[candidate.section] === undefined)) {
      // exec rejects on a non-zero exit code, naming the file.
      const { stderr } = await run(process.execPath, [snippet.file], { cwd: folder, env: { ...environment, NODE_NO_WARNINGS: "1" }, timeout: 60_000 })
      expect(stderr, snippet.file).toBe("")
    }
  }, 180_000)

  it("type-checks and runs the README against the lowest zod, xstate and effect its peer ranges allow", async () => {
    const lowest = join(project, "lowest")
    await mkdir(lowest)
    await writeFile(join(lowest, "package.json"), JSON.stringify({ name: "lowest", private: true, type: "module" }))
    // The lower bound of each `^X.Y.Z` range, installed beside the same tarball.
    const floors = ["zod", "xstate", "effect"].map((name) => `${name}@${manifest.peerDependencies[name]?.replace(/^\^/, "")}`)
    await exec(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", tarballPath, ...floors, `@types/node@${manifest.devDependencies["@types/node"]}`],
      lowest,
    )
    await writeFile(join(lowest, "tsconfig.json"), JSON.stringify(installTsconfig()))
    // The blocks that need no optional SDK: those type-check with the peers alone.
    const snippets = readmeSnippets().filter(
      (snippet) => notRunOffline[snippet.section] === undefined && !/from "@(modelcontextprotocol|ai-sdk)\//.test(snippet.source),
    )
    for (const snippet of snippets) await writeFile(join(lowest, snippet.file), snippet.source)
    const diagnostics = await exec(join(repository, "node_modules/.bin/tsc"), ["-p", lowest], lowest).then(
      ({ stdout, stderr }) => `${stdout}${stderr}`,
      (error: Error & { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}` || error.message,
    )
    expect(diagnostics).toBe("")
    for (const file of ["main.ts", "triage.test.ts", "raw-actor.ts", "digest.ts"]) {
      const { stderr } = await run(process.execPath, [file], { cwd: lowest, env: { ...environment, NODE_NO_WARNINGS: "1" }, timeout: 60_000 })
      expect(stderr, file).toBe("")
    }
  }, 240_000)

  it("runs a TypeScript pipeline file with the installed CLI, then shows and lists it, with no flags", async () => {
    const folder = join(project, "cli")
    await mkdir(folder)
    // An enum, which Node's type stripping refuses: the CLI loads the file with tsx.
    await writeFile(
      join(folder, "greeting.ts"),
      `import { fn, human, pipeline } from "switchboard"
import { z } from "zod"
enum Tone { Warm = "warm" }
export default pipeline({ id: "greeting", input: z.object({ name: z.string() }) })
  .step("greet", fn(({ input }) => \`\${Tone.Warm} hello, \${input.name}\`))
  .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
  .edges({ greet: "review", review: "done" })
`,
    )
    const switchboard = join(project, "node_modules/.bin/switchboard")
    const cliEnvironment = Object.fromEntries(Object.entries(environment).filter(([name]) => !name.startsWith("SWITCHBOARD_")))
    const ran = await run(switchboard, ["run", "greeting.ts", "--input", '{"name":"Ada"}', "--json"], {
      cwd: folder,
      env: cliEnvironment,
      timeout: 60_000,
    }).then(
      () => {
        throw new Error("run should exit 3: awaiting a decision")
      },
      (error: Error & { code?: number; stdout?: string }) => error,
    )
    expect(ran.code).toBe(3)
    const { runId } = JSON.parse(ran.stdout ?? "") as { runId: string }
    const shown = await run(switchboard, ["show", runId], { cwd: folder, env: cliEnvironment, timeout: 60_000 })
    expect(shown.stdout).toContain("awaiting-human")
    const listed = await run(switchboard, ["runs"], { cwd: folder, env: cliEnvironment, timeout: 60_000 })
    expect(listed.stdout).toMatch(new RegExp(`${runId}\\s+greeting\\s+awaiting-human`))
  }, 120_000)

  it("installs the CLI as a bin that answers --help", async (context) => {
    if (!existsSync(join(staging, "dist/cli/main.js"))) context.skip()
    // exec rejects on a non-zero exit code.
    const { stdout } = await exec(join(project, "node_modules/.bin/switchboard"), ["--help"], project)
    expect(stdout).toMatch(/usage/i)
  })
})
