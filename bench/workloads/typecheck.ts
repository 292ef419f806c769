// Type-check cost (DESIGN.md: a 50-step pipeline type-checks in under 3 s). A generated 50-step
// pipeline (llm steps with and without output schemas, fn steps, a route every five steps, prompts
// reading earlier outputs) against a file that only imports the library, both importing the
// library's published declarations (as a user's project does): `tsc --noEmit` wall time (median of
// several runs, interleaved) and the `--extendedDiagnostics` instantiation count.
import { execFile } from "node:child_process"
import { mkdir, rm, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { median, type Row, row, type Workload } from "../measure.ts"

const stepCount = 50
const routeEvery = 5
const samples = process.env["BENCH_QUICK"] === "1" ? 1 : 3
/** DESIGN.md target for the 50-step pipeline, in ms. */
const typecheckTarget = 3_000

const root = fileURLToPath(new URL("../..", import.meta.url))
// Inside the repository, so the file resolves zod and the library as the repository's own code does.
const buildDirectory = fileURLToPath(new URL("../.build-typecheck/", import.meta.url))
const compiler = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url))

type Kind = "classify" | "compute" | "write"
const kindOf = (index: number): Kind => (["classify", "compute", "write"] as const)[index % 3] as Kind
const nameOf = (index: number) => `s${index}`
// How a later step reads this step's output, and a route condition on it; both must type-check.
const readOf = (index: number) =>
  ({ classify: `steps.${nameOf(index)}?.label`, compute: `steps.${nameOf(index)}?.total`, write: `steps.${nameOf(index)}` })[kindOf(index)]
const conditionOf = (index: number) => ({ classify: "output.score > 0.5", compute: "output.total > 1", write: "output.length > 3" })[kindOf(index)]

const stepSource = (index: number) => {
  const previous = index === 1 ? "input.ticket" : readOf(index - 1)
  const context = index === 1 ? "{ input }" : "{ steps }"
  switch (kindOf(index)) {
    case "classify":
      return `llm({ model: "fast", prompt: (${context}) => \`Classify \${${previous}}\`, output: Label })`
    case "compute":
      return `fn((${context}) => ({ total: String(${previous}).length + 1 }))`
    case "write":
      return `llm({ model: "fast", system: "Be brief.", prompt: (${context}) => \`Write about \${${previous}}\` })`
  }
}

const edgeSource = (index: number) => {
  if (index === stepCount) return `"done"`
  if (index % routeEvery !== 0 || index + 2 > stepCount) return `"${nameOf(index + 1)}"`
  const [near, far] = [nameOf(index + 1), nameOf(index + 2)]
  return `route(["${near}", "${far}"], ({ output }) => (${conditionOf(index)} ? "${near}" : "${far}"))`
}

/** The generated pipeline's source. */
const pipelineSource = () => {
  const indices = Array.from({ length: stepCount }, (_, index) => index + 1)
  return [
    `import { z } from "zod"`,
    `import { fn, llm, pipeline, route } from "./dist/index.js"`,
    ``,
    `const Label = z.object({ label: z.string(), score: z.number() })`,
    ``,
    `export const generated = pipeline({ id: "bench-typecheck", input: z.object({ ticket: z.string() }) })`,
    ...indices.map((index) => `  .step("${nameOf(index)}", ${stepSource(index)})`),
    `  .edges({`,
    ...indices.map((index) => `    ${nameOf(index)}: ${edgeSource(index)},`),
    `  })`,
    ``,
  ].join("\n")
}

const emptySource = `export { pipeline } from "./dist/index.js"\nexport { z } from "zod"\n`

/** One `tsc --noEmit` of a project: wall time and instantiations; throws on any compile error. */
const check = async (project: string): Promise<{ ms: number; instantiations: number; output: string }> => {
  const started = performance.now()
  const result = await promisify(execFile)(process.execPath, [compiler, "--noEmit", "--extendedDiagnostics", "-p", project], { cwd: root }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`tsc failed on ${project}:\n${error.stdout ?? ""}${error.stderr ?? ""}`)
    },
  )
  const ms = performance.now() - started
  const output = result.stdout + result.stderr
  const instantiations = Number(/^Instantiations:\s+(\d+)/m.exec(output)?.[1] ?? Number.NaN)
  return { ms, instantiations, output }
}

export const typecheckWorkload: Workload = {
  name: "type-check cost",
  run: async (): Promise<readonly Row[]> => {
    await rm(buildDirectory, { recursive: true, force: true })
    await mkdir(buildDirectory, { recursive: true })
    try {
      // Users type-check against the published declarations, not the library's sources: emit them
      // as `npm run build` does (tsconfig.build.json) and import those.
      await promisify(execFile)(process.execPath, [compiler, "-p", "tsconfig.build.json", "--outDir", `${buildDirectory}dist`], { cwd: root })
      const projects = { pipeline: `${buildDirectory}tsconfig.pipeline.json`, empty: `${buildDirectory}tsconfig.empty.json` }
      await writeFile(`${buildDirectory}pipeline.ts`, pipelineSource())
      await writeFile(`${buildDirectory}empty.ts`, emptySource)
      for (const [name, project] of Object.entries(projects)) {
        await writeFile(project, JSON.stringify({ extends: "../../tsconfig.json", include: [`${name}.ts`] }))
      }
      const results = { pipeline: [] as Array<Awaited<ReturnType<typeof check>>>, empty: [] as Array<Awaited<ReturnType<typeof check>>> }
      // Interleaved, so drift in the machine's load hits both alike.
      for (let sample = 0; sample < samples; sample++) {
        results.pipeline.push(await check(projects.pipeline))
        results.empty.push(await check(projects.empty))
      }
      const timeOf = (name: keyof typeof results) => median(results[name].map((result) => result.ms))
      const instantiationsOf = (name: keyof typeof results) => results[name][0]?.instantiations ?? Number.NaN
      const deepInstantiation = results.pipeline.filter((result) => result.output.includes("TS2589")).length
      return [
        row(`${stepCount}-step pipeline (routes every ${routeEvery} steps): tsc --noEmit`, timeOf("pipeline"), "ms", typecheckTarget),
        row("file importing the library only: tsc --noEmit", timeOf("empty"), "ms"),
        row(`${stepCount}-step pipeline: its own cost (difference)`, timeOf("pipeline") - timeOf("empty"), "ms"),
        row(`${stepCount}-step pipeline: instantiations`, instantiationsOf("pipeline"), "count"),
        row("file importing the library only: instantiations", instantiationsOf("empty"), "count"),
        row(`${stepCount}-step pipeline: instantiations added`, instantiationsOf("pipeline") - instantiationsOf("empty"), "count"),
        row("TS2589 (type instantiation excessively deep) errors", deepInstantiation, "errors", 0),
      ]
    } finally {
      await rm(buildDirectory, { recursive: true, force: true })
    }
  },
}
