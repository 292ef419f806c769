import type { PipelineStructure } from "../../contract/events.ts"
import type { Models } from "../../contract/model.ts"
import type { ModelCache } from "../../contract/model-cache.ts"
import type { Pipeline } from "../../run/create-runner.ts"
import type { PriceTable } from "../../run/prices.ts"
import { DatasetError, type EvalRow, loadDataset } from "./dataset.ts"
import { driveRun } from "./drive-run.ts"
import { declaredTransitions, pathOf, structureOfRun, type Transition, takenTransitions } from "./run-journal.ts"
import type { Score, ScoreContext, Scorer } from "./scorers.ts"

/**
 * One row's result: what the run produced, each scorer's verdict (`null` where a scorer does not
 * apply), the path, retries, tokens, cost, latency and error.
 *
 * @example
 * const failedRows = (report: EvalReport) => report.rows.filter((row: RowResult) => row.status === "failed")
 */
export interface RowResult {
  /** The row's position in the dataset, from 1. */
  readonly row: number
  readonly id?: string
  readonly runId: string
  readonly input: unknown
  readonly expected?: unknown
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly status: "done" | "failed" | "stopped" | "awaiting-human"
  readonly output?: unknown
  readonly scores: Readonly<Record<string, Score | null>>
  readonly path: readonly string[]
  readonly retries: number
  readonly inputTokens: number
  readonly outputTokens: number
  readonly costUsd: number
  readonly latencyMs: number
  readonly error?: string
}

/** A scorer over the dataset: its mean over the rows it applies to, and how many scored 1. */
export interface ScorerSummary {
  readonly mean: number | null
  readonly scored: number
  readonly perfect: number
}

/** Which of the pipeline's declared transitions the dataset exercised. */
export interface TransitionCoverage {
  readonly declared: number
  readonly covered: ReadonlyArray<Transition & { readonly count: number }>
  /** Declared transitions no row took. */
  readonly uncovered: readonly Transition[]
  /** covered / declared (1 for a pipeline without transitions). */
  readonly ratio: number
}

/**
 * An evaluation: every row's result, totals, per-scorer means and transition coverage. Plain
 * JSON: write it with `JSON.stringify` and compare a later one with `compareToBaseline`.
 *
 * @example
 * const kindAccuracy = (report: EvalReport) => report.scorers["kind"]?.mean
 */
export interface EvalReport {
  readonly pipeline: string
  readonly startedAt: string
  readonly durationMs: number
  readonly concurrency: number
  readonly rows: readonly RowResult[]
  readonly totals: {
    readonly rows: number
    readonly done: number
    readonly failed: number
    readonly stopped: number
    readonly awaitingHuman: number
    readonly retries: number
    readonly inputTokens: number
    readonly outputTokens: number
    readonly costUsd: number
    readonly meanLatencyMs: number
    readonly p95LatencyMs: number
  }
  readonly scorers: Readonly<Record<string, ScorerSummary>>
  readonly coverage: TransitionCoverage
}

/** Progress after each finished row. */
export interface EvalProgress {
  readonly done: number
  readonly total: number
  readonly row: RowResult
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions<TInput, TSteps> {
  readonly pipeline: Pipeline<TInput, TSteps>
  /** Rows, or the path of a `.jsonl`, `.csv` or `.json` file. */
  readonly data: readonly EvalRow[] | string
  /** What to call the data in errors (default: its path, or `data`). */
  readonly source?: string
  readonly scorers: Readonly<Record<string, Scorer<TSteps>>>
  readonly models?: Models
  readonly prices?: PriceTable
  /**
   * A response cache (`sqliteModelCache(path)`): a re-run answers every model call it has seen
   * from it, so changing a scorer and evaluating again calls no model.
   */
  readonly modelCache?: ModelCache
  /** Rows run at once (default 8). Model calls still retry rate limits by their step policy. */
  readonly concurrency?: number
  readonly onProgress?: (progress: EvalProgress) => void
  /** Aborting it cancels the rows in flight and starts no more. */
  readonly signal?: AbortSignal
}

/**
 * Runs the pipeline on every row (at most `concurrency` at once), scores each run and
 * summarises: per-row results, totals, per-scorer means and which declared transitions the
 * dataset never exercised. Rows whose input does not match the pipeline's input schema are
 * refused up front with a {@link DatasetError} naming them.
 *
 * @example
 * const report = await evaluate({
 *   pipeline: supportTriage,
 *   data: "examples/data/support-tickets.jsonl",
 *   scorers: { kind: exact({ actual: ({ steps }) => steps.classify?.kind }), path: expectPath() },
 *   models: { fast: openai({ model: "gpt-4.1-mini" }) },
 * })
 */
export const evaluate = async <TInput, TSteps>(options: EvaluateOptions<TInput, TSteps>): Promise<EvalReport> => {
  const source = options.source ?? (typeof options.data === "string" ? options.data : "data")
  const rows = typeof options.data === "string" ? await loadDataset(options.data) : options.data
  checkInputs(options.pipeline, rows, source)
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8))
  const startedAt = Date.now()
  const results: RowResult[] = new Array(rows.length)
  const structures: PipelineStructure[] = []
  const taken = new Map<string, Transition & { count: number }>()
  let next = 0
  let finished = 0
  const worker = async () => {
    while (next < rows.length && options.signal?.aborted !== true) {
      const index = next++
      const { result, structure, transitions } = await runRow(options, rows[index] as EvalRow, index)
      if (structure !== undefined && structures.length === 0) structures.push(structure)
      for (const transition of transitions) {
        const key = `${transition.from}→${transition.to}`
        const counted = taken.get(key) ?? { ...transition, count: 0 }
        counted.count++
        taken.set(key, counted)
      }
      results[index] = result
      finished++
      options.onProgress?.({ done: finished, total: rows.length, row: result })
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, rows.length)) }, worker))
  const completed = results.filter((result) => result !== undefined)
  return {
    pipeline: options.pipeline.id,
    startedAt: new Date(startedAt).toISOString(),
    durationMs: Date.now() - startedAt,
    concurrency,
    rows: completed,
    totals: totalsOf(completed),
    scorers: Object.fromEntries(Object.keys(options.scorers).map((name) => [name, summaryOf(completed, name)])),
    coverage: coverageOf(structures[0], taken),
  }
}

const checkInputs = (pipeline: { readonly id: string; readonly input: unknown }, rows: readonly EvalRow[], source: string) => {
  const problems = rows.flatMap((row, index) => {
    const parsed = (
      pipeline.input as { safeParse: (value: unknown) => { success: boolean; error?: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } } }
    ).safeParse(row.input)
    return parsed.success
      ? []
      : [
          {
            row: index + 1,
            message: (parsed.error?.issues ?? []).map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; "),
          },
        ]
  })
  const first = problems[0]
  if (first === undefined) return
  const more =
    problems.length > 1
      ? ` (and ${problems.length - 1} more row${problems.length === 2 ? "" : "s"}: ${problems
          .slice(1, 6)
          .map((problem) => problem.row)
          .join(", ")}${problems.length > 6 ? ", …" : ""})`
      : ""
  throw new DatasetError(source, { row: first.row }, `input does not match the input of pipeline "${pipeline.id}": ${first.message}${more}`)
}

const runRow = async <TInput, TSteps>(options: EvaluateOptions<TInput, TSteps>, row: EvalRow, index: number) => {
  const started = Date.now()
  const models = options.models ?? {}
  const { result, entries } = await driveRun(options.pipeline as unknown as Pipeline<unknown, Record<string, unknown>>, row.input, {
    models,
    ...(options.prices === undefined ? {} : { prices: options.prices }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.modelCache === undefined ? {} : { modelCache: options.modelCache }),
    human: (step) =>
      row.expire?.includes(step) === true
        ? { expire: true }
        : row.decisions !== undefined && step in row.decisions
          ? { decision: row.decisions[step] }
          : undefined,
  })
  const latencyMs = Date.now() - started
  const path = pathOf(entries)
  const output = result.status === "done" ? result.output : undefined
  const error = result.status === "failed" ? result.error : undefined
  const context: ScoreContext<TSteps> = {
    row,
    input: row.input,
    expected: row.expected,
    output,
    status: result.status,
    steps: result.steps as Partial<TSteps>,
    path,
    entries,
    ...(error === undefined ? {} : { error }),
    signal: options.signal ?? new AbortController().signal,
    models,
  }
  const scores: Record<string, Score | null> = {}
  for (const [name, scorer] of Object.entries(options.scorers)) scores[name] = await score(scorer, context)
  const rowResult: RowResult = {
    row: index + 1,
    ...(row.id === undefined ? {} : { id: row.id }),
    runId: result.runId,
    input: row.input,
    ...(row.expected === undefined ? {} : { expected: row.expected }),
    ...(row.metadata === undefined ? {} : { metadata: row.metadata }),
    status: result.status,
    ...(output === undefined ? {} : { output }),
    scores,
    path,
    retries: entries.filter((entry) => entry.type === "step.retried").length,
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    costUsd: result.usage.costUsd,
    latencyMs,
    ...(error === undefined
      ? result.status === "stopped"
        ? { error: `stopped at ${result.stoppedBy.step} by ${result.stoppedBy.rule}` }
        : result.status === "awaiting-human"
          ? { error: `waits for a decision on ${result.step} (give the row decisions.${result.step})` }
          : {}
      : { error: `${error._tag}: ${error.message}` }),
  }
  return { result: rowResult, structure: structureOfRun(entries), transitions: takenTransitions(entries) }
}

const score = async <TSteps>(scorer: Scorer<TSteps>, context: ScoreContext<TSteps>): Promise<Score | null> => {
  try {
    const verdict = await scorer(context)
    if (verdict === undefined || verdict === null) return null
    if (typeof verdict.score !== "number" || !Number.isFinite(verdict.score) || verdict.score < 0 || verdict.score > 1) {
      return { score: 0, reason: `scorer returned score ${String(verdict.score)}, outside 0..1` }
    }
    return { score: verdict.score, reason: String(verdict.reason) }
  } catch (error) {
    return { score: 0, reason: `scorer threw: ${error instanceof Error ? error.message : String(error)}` }
  }
}

const totalsOf = (rows: readonly RowResult[]): EvalReport["totals"] => {
  const latencies = rows.map((row) => row.latencyMs).sort((left, right) => left - right)
  const count = (status: RowResult["status"]) => rows.filter((row) => row.status === status).length
  const sum = (pick: (row: RowResult) => number) => rows.reduce((total, row) => total + pick(row), 0)
  return {
    rows: rows.length,
    done: count("done"),
    failed: count("failed"),
    stopped: count("stopped"),
    awaitingHuman: count("awaiting-human"),
    retries: sum((row) => row.retries),
    inputTokens: sum((row) => row.inputTokens),
    outputTokens: sum((row) => row.outputTokens),
    costUsd: Math.round(sum((row) => row.costUsd) * 1e9) / 1e9,
    meanLatencyMs: rows.length === 0 ? 0 : Math.round(sum((row) => row.latencyMs) / rows.length),
    p95LatencyMs: latencies[Math.max(0, Math.ceil(latencies.length * 0.95) - 1)] ?? 0,
  }
}

const summaryOf = (rows: readonly RowResult[], name: string): ScorerSummary => {
  const scores = rows.flatMap((row) => (row.scores[name] === null || row.scores[name] === undefined ? [] : [row.scores[name].score]))
  const mean = scores.length === 0 ? null : Math.round((scores.reduce((total, value) => total + value, 0) / scores.length) * 1e6) / 1e6
  return { mean, scored: scores.length, perfect: scores.filter((value) => value === 1).length }
}

const coverageOf = (structure: PipelineStructure | undefined, taken: ReadonlyMap<string, Transition & { count: number }>): TransitionCoverage => {
  const declared = structure === undefined ? [] : declaredTransitions(structure)
  const covered = declared.flatMap((transition) => {
    const found = taken.get(`${transition.from}→${transition.to}`)
    return found === undefined ? [] : [found]
  })
  const uncovered = declared.filter((transition) => !taken.has(`${transition.from}→${transition.to}`))
  return { declared: declared.length, covered, uncovered, ratio: declared.length === 0 ? 1 : Math.round((covered.length / declared.length) * 1e4) / 1e4 }
}
