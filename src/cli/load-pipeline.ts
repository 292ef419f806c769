import { existsSync, readFileSync, statSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import type { Models } from "../contract/model.ts"
import type { Pipeline } from "../run/create-runner.ts"

/**
 * A mistake in how the CLI was called (bad flag value, missing file, nothing to run): the CLI
 * prints its message and exits with code 2.
 *
 * @example
 * throw new UsageError('--input is not valid JSON: Unexpected token')
 */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** A pipeline file, loaded: the pipeline to run and the models it brings. */
export interface LoadedPipeline {
  readonly pipeline: Pipeline<unknown, Record<string, unknown>>
  /** Which export the pipeline came from (`"default"` or its name). */
  readonly exportName: string
  readonly models: Models
  /** Where the models came from, for the progress header. */
  readonly modelsFrom: "models" | "scriptedModels()" | "none"
}

const looksLikePipeline = (value: unknown): value is Pipeline<unknown, Record<string, unknown>> =>
  typeof value === "object" && value !== null && "machine" in value && typeof (value as { run?: unknown }).run === "function"

/**
 * Imports a pipeline file and picks its pipeline: the named export if given, else the default
 * export, else its only pipeline export (several without a default is a usage error). Models come from an exported `models`
 * (an object, or a function returning one), else from an exported `scriptedModels()`.
 *
 * @example
 * const { pipeline, models } = await loadPipeline("machines/support-triage.machine.ts")
 */
export const loadPipeline = async (file: string, exportName?: string): Promise<LoadedPipeline> => {
  const module = await importFile(file)
  const names = Object.keys(module)
  // A module namespace lists its exports alphabetically, not in source order: with several
  // pipelines and no default, "the first" would be an accident, so ask which one.
  const pipelines = names.filter((name) => name !== "default" && looksLikePipeline(module[name]))
  if (exportName === undefined && !looksLikePipeline(module.default) && pipelines.length > 1) {
    throw new UsageError(`${file} exports several pipelines (${pipelines.join(", ")}); pick one with --pipeline NAME`)
  }
  const chosen = exportName ?? (looksLikePipeline(module.default) ? "default" : pipelines[0])
  const pipeline = chosen === undefined ? undefined : module[chosen]
  if (!looksLikePipeline(pipeline)) {
    const listed = names.length === 0 ? "it has no exports" : `its exports: ${names.join(", ")}`
    const wanted = exportName === undefined ? "exports no pipeline" : `has no pipeline export named "${exportName}"`
    throw new UsageError(`${file} ${wanted} (${listed}); export one built with pipeline(...).edges(...)`)
  }
  const { models, modelsFrom } = await modelsOf(file, module)
  return { pipeline, exportName: chosen as string, models, modelsFrom }
}

/**
 * Imports a pipeline file for a worker: every pipeline it exports (the default export and named
 * ones, each once) and the models it brings. Two pipelines with one id are a usage error.
 *
 * @example
 * const { pipelines, models } = await loadPipelines("pipelines/orders.ts")
 */
export const loadPipelines = async (
  file: string,
): Promise<Omit<LoadedPipeline, "pipeline" | "exportName"> & { readonly pipelines: readonly Pipeline<unknown, Record<string, unknown>>[] }> => {
  const module = await importFile(file)
  const pipelines = [...new Set(Object.values(module).filter(looksLikePipeline))]
  if (pipelines.length === 0) {
    const names = Object.keys(module)
    throw new UsageError(
      `${file} exports no pipeline (${names.length === 0 ? "it has no exports" : `its exports: ${names.join(", ")}`}); export one built with pipeline(...).edges(...)`,
    )
  }
  const ids = pipelines.map((pipeline) => pipeline.id)
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index)
  if (repeated.length > 0) throw new UsageError(`${file} exports several pipelines with the id "${repeated[0]}"; a worker tells runs apart by pipeline id`)
  return { pipelines, ...(await modelsOf(file, module)) }
}

const importFile = async (file: string): Promise<Record<string, unknown>> => {
  const path = resolve(file)
  if (!existsSync(path)) throw new UsageError(`file not found: ${file}`)
  if (!statSync(path).isFile()) throw new UsageError(`not a file: ${file}`)
  try {
    if (/\.[cm]?tsx?$/.test(path)) await registerTypeScript(path)
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(`cannot import ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
}

let typeScript: Promise<void> | undefined

// TypeScript files load through tsx (esbuild), not Node's type stripping: enums, parameter
// properties, decorators and the project's tsconfig `paths` work, on every Node the CLI runs on.
// Registered once, on the first TypeScript file, with the tsconfig.json nearest to it.
const registerTypeScript = (path: string): Promise<void> => {
  typeScript ??= import("tsx/esm/api").then(
    ({ register }) => {
      const tsconfig = nearestTsconfig(dirname(path))
      register(tsconfig === undefined ? {} : { tsconfig })
    },
    (error: unknown) => {
      throw new UsageError(`cannot load TypeScript: the tsx package did not load (${error instanceof Error ? error.message : String(error)})`)
    },
  )
  return typeScript
}

const nearestTsconfig = (directory: string): string | undefined => {
  for (let current = directory; ; current = dirname(current)) {
    const candidate = join(current, "tsconfig.json")
    if (existsSync(candidate)) return candidate
    if (dirname(current) === current) return undefined
  }
}

const modelsOf = async (file: string, module: Record<string, unknown>): Promise<Pick<LoadedPipeline, "models" | "modelsFrom">> => {
  const source = "models" in module ? "models" : typeof module.scriptedModels === "function" ? "scriptedModels()" : undefined
  if (source === undefined) return { models: {}, modelsFrom: "none" }
  const exported = source === "models" ? module.models : module.scriptedModels
  let models: unknown
  try {
    // A function lets a file build its providers only when it is run.
    models = typeof exported === "function" ? await (exported as () => unknown)() : exported
  } catch (error) {
    throw new UsageError(`${file}: ${source === "models" ? "models()" : source} threw: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (typeof models !== "object" || models === null) throw new UsageError(`${file}: ${source} must give an object of models by alias, got ${typeof models}`)
  return { models: models as Models, modelsFrom: source }
}

/**
 * Reads a JSON flag value (`--input`, `--decision`): inline JSON, or `@path` to a JSON file.
 * Errors name the flag. No value gives `{}`.
 *
 * @example
 * parseInput('{"ticket":"hi"}') // { ticket: "hi" }
 * parseInput("@input.json")
 */
export const parseInput = (value: string | undefined, flag = "--input"): unknown => {
  if (value === undefined) return {}
  if (value.startsWith("@")) {
    const path = value.slice(1)
    if (!existsSync(path)) throw new UsageError(`${flag} file not found: ${path}`)
    return parseJson(readFileSync(path, "utf8"), `${flag} file ${path}`)
  }
  return parseJson(value, flag)
}

const parseJson = (text: string, what: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new UsageError(`${what} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
}
