import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { sqliteModelCache } from "../stores/sqlite-model-cache.ts"
import { compareToBaseline, type Regression } from "../verify/evaluate/baseline.ts"
import { DatasetError, type EvalRow, loadDataset } from "../verify/evaluate/dataset.ts"
import { type EvalReport, evaluate } from "../verify/evaluate/evaluate.ts"
import { toHtmlReport, toMarkdownReport } from "../verify/evaluate/report.ts"
import { exact, expectPath, type Scorer } from "../verify/evaluate/scorers.ts"
import type { Output } from "./commands.ts"
import { loadPipeline, UsageError } from "./load-pipeline.ts"

const defaultCachePath = ".switchboard/model-cache.db"

/** Flags of `switchboard eval`. */
export interface EvalCommandOptions {
  /** The dataset: .jsonl, .csv or .json. */
  readonly data?: string
  /** Where to write the report: HTML, or Markdown when the name ends in `.md`. */
  readonly report?: string
  /** Where to write the report as JSON (a later run's `--baseline`). */
  readonly json?: string
  /** A previous JSON report: a scorer mean that fell by more than `threshold` exits 1. */
  readonly baseline?: string
  readonly threshold?: string
  readonly concurrency?: string
  /** A module exporting `scorers` (default: the pipeline file's `scorers` export). */
  readonly scorers?: string
  readonly pipeline?: string
  /** `--cache [file]`: a SQLite response cache (true: `.switchboard/model-cache.db`). */
  readonly cache?: string | boolean
}

/**
 * `switchboard eval <file> --data rows.jsonl`: runs the pipeline on every row, prints the
 * summary (scorer means, transitions never exercised), writes the reports asked for, and
 * compares with a baseline. Exit code 0, 1 on a regression beyond the threshold, 2 on a usage
 * or dataset error (naming the row).
 *
 * Scorers come from `--scorers FILE` or the pipeline file (an exported `scorers` object of
 * scorer functions by name); without either, rows with `expected` are scored `exact()` and rows
 * with `expectPath` `expectPath()`.
 *
 * @example
 * const code = await evalCommand("machines/support-triage.machine.ts", { data: "tickets.jsonl", baseline: "old.json" }, output)
 */
export const evalCommand = async (file: string, options: EvalCommandOptions, output: Output): Promise<number> => {
  if (options.data === undefined) throw new UsageError("eval needs --data FILE (.jsonl, .csv or .json)")
  const threshold = numberFlag("--threshold", options.threshold, 0.02, 0, 1)
  const concurrency = numberFlag("--concurrency", options.concurrency, 8, 1, 10_000)
  const baseline = options.baseline === undefined ? undefined : readBaseline(options.baseline)
  const loaded = await loadPipeline(file, options.pipeline)
  let rows: EvalRow[]
  try {
    rows = await loadDataset(options.data)
  } catch (error) {
    if (error instanceof DatasetError) throw new UsageError(error.message)
    throw error
  }
  const scorers = (await scorersFrom(options.scorers ?? file, options.scorers !== undefined)) ?? defaultScorers(rows)
  output.out(
    `▶ eval ${loaded.pipeline.id} on ${rows.length} rows from ${options.data} (concurrency ${concurrency}; scorers: ${Object.keys(scorers).join(", ") || "none"})`,
  )
  let shown = 0
  const started = Date.now()
  const cachePath = options.cache === undefined || options.cache === false ? undefined : options.cache === true ? defaultCachePath : options.cache
  const modelCache = cachePath === undefined ? undefined : sqliteModelCache(cachePath)
  if (modelCache !== undefined) output.out(`model cache: ${modelCache.label}`)
  let report: EvalReport
  try {
    report = await evaluate({
      ...(modelCache === undefined ? {} : { modelCache }),
      pipeline: loaded.pipeline,
      data: rows,
      source: options.data,
      scorers,
      models: loaded.models,
      concurrency,
      onProgress: ({ done, total }) => {
        // One line per tenth: readable in CI logs, where a redrawn bar is not.
        const tenth = Math.floor((done / total) * 10)
        if (tenth === shown && done !== total) return
        shown = tenth + 1
        const elapsed = Date.now() - started
        const eta = done === 0 || done === total ? "" : `, about ${Math.ceil(((elapsed / done) * (total - done)) / 1000)}s left`
        output.out(`  [${"#".repeat(tenth).padEnd(10, ".")}] ${done}/${total}${eta}`)
      },
    })
  } catch (error) {
    if (error instanceof DatasetError) throw new UsageError(error.message)
    throw error
  } finally {
    modelCache?.close()
  }
  const regressions = baseline === undefined ? [] : compareToBaseline(report, baseline, { threshold })
  output.out(summaryOf(report, regressions))
  if (options.report !== undefined) {
    writeFileSync(options.report, options.report.endsWith(".md") ? toMarkdownReport(report, regressions) : toHtmlReport(report, regressions))
    output.out(`report: ${options.report}`)
  }
  if (options.json !== undefined) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`)
    output.out(`json: ${options.json}`)
  }
  if (baseline === undefined) return 0
  if (regressions.length === 0) {
    output.out(`no regression against ${options.baseline} (threshold ${threshold})`)
    return 0
  }
  for (const regression of regressions) {
    output.error(
      `regression: ${regression.scorer} ${regression.baseline} → ${regression.current ?? "not scored"}${regression.delta === null ? "" : ` (${regression.delta})`}, threshold ${threshold}`,
    )
  }
  return 1
}

// The Markdown report without its per-row table: the terminal gets totals, means and coverage.
const summaryOf = (report: EvalReport, regressions: readonly Regression[]): string => {
  const markdown = toMarkdownReport(report, regressions)
  return markdown.slice(0, markdown.indexOf("\n## Rows")).trimEnd()
}

const numberFlag = (flag: string, value: string | undefined, fallback: number, min: number, max: number): number => {
  if (value === undefined) return fallback
  const number = Number(value)
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max)
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got "${value}"`)
  return number
}

const readBaseline = (path: string): EvalReport => {
  if (!existsSync(path)) throw new UsageError(`--baseline file not found: ${path}`)
  let value: unknown
  try {
    value = JSON.parse(readFileSync(path, "utf8"))
  } catch (error) {
    throw new UsageError(`--baseline ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (typeof value !== "object" || value === null || typeof (value as { scorers?: unknown }).scorers !== "object") {
    throw new UsageError(`--baseline ${path} is not an eval report (write one with --json)`)
  }
  return value as EvalReport
}

const scorersFrom = async (file: string, required: boolean): Promise<Record<string, Scorer> | undefined> => {
  const path = resolve(file)
  if (!existsSync(path)) throw new UsageError(`--scorers file not found: ${file}`)
  let module: Record<string, unknown>
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    throw new UsageError(`cannot import ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const exported = module["scorers"]
  if (exported === undefined) {
    if (required) throw new UsageError(`${file} exports no \`scorers\` (an object of scorer functions by name)`)
    return undefined
  }
  const entries = typeof exported === "object" && exported !== null ? Object.entries(exported) : []
  if (entries.length === 0 || entries.some(([, scorer]) => typeof scorer !== "function")) {
    throw new UsageError(`${file}: \`scorers\` must be an object of scorer functions by name, e.g. { kind: exact(), path: expectPath() }`)
  }
  return Object.fromEntries(entries) as Record<string, Scorer>
}

const defaultScorers = (rows: readonly EvalRow[]): Record<string, Scorer> => ({
  ...(rows.some((row) => row.expected !== undefined) ? { exact: exact() } : {}),
  ...(rows.some((row) => row.expectPath !== undefined) ? { path: expectPath() } : {}),
})
