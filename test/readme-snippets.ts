// The README's TypeScript blocks, as files: what test/readme.test.ts type-checks and runs, and
// what test/package.test.ts type-checks against the packed tarball.
import { readFileSync } from "node:fs"
import { join } from "node:path"

/** One ```ts block of the README, with the file name a reader saves it as. */
export interface ReadmeSnippet {
  /** `triage.ts` when the block's first line is `// triage.ts`, else `block-<line>.ts`. */
  readonly file: string
  /** The `## ` heading the block sits under. */
  readonly section: string
  /** The README line of the opening fence (1-based). */
  readonly line: number
  readonly source: string
}

/**
 * Reads every ```ts block of a Markdown file.
 *
 * @example
 * const [first] = readmeSnippets()
 * first?.file // "triage.ts"
 */
export const readmeSnippets = (path = join(import.meta.dirname, "../README.md")): ReadmeSnippet[] => {
  const lines = readFileSync(path, "utf8").split("\n")
  const snippets: ReadmeSnippet[] = []
  let section = ""
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? ""
    if (line.startsWith("## ")) section = line.slice(3).trim()
    if (line.trim() !== "```ts") continue
    const start = index
    const body: string[] = []
    for (index++; index < lines.length && lines[index]?.trim() !== "```"; index++) body.push(lines[index] ?? "")
    const named = /^\/\/ ([\w.-]+\.ts)(?: |$)/.exec(body[0]?.trim() ?? "")
    snippets.push({ file: named?.[1] ?? `block-${start + 1}.ts`, section, line: start + 1, source: `${body.join("\n")}\n` })
  }
  return snippets
}

/** README sections whose blocks cannot run offline, and why; every other block runs. */
export const notRunOffline: Readonly<Record<string, string>> = {
  "Models and providers": "calls OpenAI and Anthropic",
  "Outgrowing one machine": "needs a Restate cluster",
}

/**
 * The README's ```json block under `## Install`: the tsconfig.json the blocks are checked with.
 *
 * @example
 * const tsconfig = installTsconfig() // { compilerOptions: { strict: true, … } }
 */
export const installTsconfig = (path = join(import.meta.dirname, "../README.md")): unknown => {
  const text = readFileSync(path, "utf8")
  const install = text.slice(text.indexOf("## Install"))
  const match = /```json\n([\s\S]*?)\n```/.exec(install.slice(0, install.indexOf("\n## ", 1)))
  if (match === null) throw new Error("README.md: no ```json block (the tsconfig) under ## Install")
  return JSON.parse(match[1] as string)
}
