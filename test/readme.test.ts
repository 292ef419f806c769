// The README's code is tested code: every ```ts block is written to a file as a reader would save
// it, type-checked with the project's tsc (the `switchboard` imports resolve to src/ through
// tsconfig `paths`), and every block that needs no network or server is run with Node.
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { notRunOffline, readmeSnippets } from "./readme-snippets.ts"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..")
const snippets = readmeSnippets()

const entries = {
  switchboard: "src/index.ts",
  "switchboard/testing": "src/testing/index.ts",
  "switchboard/restate": "src/engines/restate/index.ts",
}

let folder = ""

beforeAll(() => {
  // Inside the repository (under the ignored .switchboard/), so zod, xstate and effect resolve
  // from its node_modules as they would from a user's.
  mkdirSync(join(root, ".switchboard"), { recursive: true })
  folder = mkdtempSync(join(root, ".switchboard/readme-"))
  for (const snippet of snippets) writeFileSync(join(folder, snippet.file), snippet.source)
  writeFileSync(join(folder, "package.json"), JSON.stringify({ type: "module" }))
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.json",
      // A snippet may show a value without using it.
      compilerOptions: { noUnusedLocals: false, paths: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, [`../../${path}`]])) },
      include: ["*.ts"],
    }),
  )
  const resolved = Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, pathToFileURL(join(root, path)).href]))
  writeFileSync(
    join(folder, "hooks.mjs"),
    `import { registerHooks } from "node:module"
const entries = ${JSON.stringify(resolved)}
registerHooks({ resolve: (specifier, context, next) => (specifier in entries ? { url: entries[specifier], shortCircuit: true } : next(specifier, context)) })
`,
  )
})

afterAll(() => {
  if (folder !== "") rmSync(folder, { recursive: true, force: true })
})

describe("README.md", () => {
  it("has TypeScript blocks, each saved under its own file name", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(8)
    const files = snippets.map((snippet) => snippet.file)
    expect(new Set(files).size).toBe(files.length)
  })

  it("every TypeScript block type-checks as written", async () => {
    const diagnostics = await run(join(root, "node_modules/.bin/tsc"), ["-p", folder], { cwd: folder }).then(
      ({ stdout, stderr }) => `${stdout}${stderr}`,
      (error: Error & { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}` || error.message,
    )
    // Name the README line of each error, not the temporary file's.
    const located = diagnostics.replace(/^([\w.-]+\.ts)\((\d+),(\d+)\)/gm, (whole, file: string, line: string) => {
      const snippet = snippets.find((candidate) => candidate.file === file)
      return snippet === undefined ? whole : `README.md:${snippet.line + Number(line)} (${file}:${line})`
    })
    expect(located).toBe("")
  }, 120_000)

  const runnable = snippets.filter((snippet) => notRunOffline[snippet.section] === undefined)
  it.each(runnable.map((snippet) => [`${snippet.section} (line ${snippet.line})`, snippet] as const))(
    "runs offline: %s",
    async (_name, snippet) => {
      const { stdout, stderr } = await run(process.execPath, ["--import", "./hooks.mjs", snippet.file], {
        cwd: folder,
        timeout: 60_000,
        env: { ...process.env, NODE_NO_WARNINGS: "1", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" },
      })
      expect(stderr).toBe("")
      // A block that prints says what in a comment: `console.log(x) // "what it prints"`.
      for (const [, printed] of snippet.source.matchAll(/console\.log\(.*\) \/\/ ("(?:[^"\\]|\\.)*")\s*$/gm)) {
        expect(stdout).toContain(JSON.parse(printed as string))
      }
    },
    90_000,
  )
})
