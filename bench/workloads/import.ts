// Cold import of the main entry in a fresh process (DESIGN.md: under 100 ms, no provider SDK loaded).
// Each sample is a new Node process; the median of several is reported. `zod` alone is measured
// the same way for reference: a user's pipeline imports it anyway.
import { execFile } from "node:child_process"
import { rm } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { median, type Row, row, type Workload } from "../measure.ts"

const run = promisify(execFile)
const root = fileURLToPath(new URL("../..", import.meta.url))
// Built inside the repository so the emitted JavaScript resolves our node_modules, as installed code would.
const buildDirectory = fileURLToPath(new URL("../.build/", import.meta.url))
const entry = new URL("../.build/index.js", import.meta.url).href
const samples = process.env["BENCH_QUICK"] === "1" ? 3 : 9

// Prints the import time, then every module URL the import resolved.
const probe = (specifier: string, withHooks: boolean, preload: string | undefined) => `
  ${preload === undefined ? "" : `await import(${JSON.stringify(preload)})`}
  ${
    withHooks
      ? `import { registerHooks } from "node:module"
  const loaded = []
  registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result } })`
      : "const loaded = []"
  }
  const started = performance.now()
  await import(${JSON.stringify(specifier)})
  process.stdout.write(JSON.stringify({ ms: performance.now() - started, loaded }))
`

const measure = async (specifier: string, withHooks = false, preload?: string): Promise<{ ms: number; loaded: string[] }> => {
  const { stdout } = await run(process.execPath, ["--input-type=module", "--eval", probe(specifier, withHooks, preload)], {
    cwd: root,
  })
  return JSON.parse(stdout) as { ms: number; loaded: string[] }
}

export const importWorkload: Workload = {
  name: "cold import",
  run: async (): Promise<readonly Row[]> => {
    // Users import the published JavaScript, not the TypeScript sources: measure that.
    await rm(buildDirectory, { recursive: true, force: true })
    // The same bundling step as `npm run build` (rolldown.config.mjs), into this directory.
    await run(
      process.execPath,
      [fileURLToPath(new URL("../../node_modules/rolldown/bin/cli.mjs", import.meta.url)), "-c", "rolldown.config.mjs", "--dir", buildDirectory],
      { cwd: root },
    )
    const entryTimes: number[] = []
    const zodTimes: number[] = []
    const afterZodTimes: number[] = []
    for (let sample = 0; sample < samples; sample++) {
      entryTimes.push((await measure(entry)).ms)
      zodTimes.push((await measure("zod")).ms)
      afterZodTimes.push((await measure(entry, false, "zod")).ms)
    }
    const { loaded } = await measure(entry, true)
    const sdks = loaded.filter((url) => /\/node_modules\/(openai|@anthropic-ai\/sdk|@statelyai|pg)\//.test(url))
    const sqlite = loaded.some((url) => url === "node:sqlite")
    await rm(buildDirectory, { recursive: true, force: true })
    return [
      row("import switchboard (built dist), fresh process", median(entryTimes), "ms", 100),
      row("import zod alone, fresh process (reference)", median(zodTimes), "ms", null),
      row("import switchboard after zod (its own cost)", median(afterZodTimes), "ms", null),
      row("provider SDKs / inspector / pg / sqlite loaded by the import", sdks.length + (sqlite ? 1 : 0), "modules", 0),
    ]
  },
}
