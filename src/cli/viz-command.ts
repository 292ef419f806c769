import { writeFileSync } from "node:fs"
import type { JournalEntry } from "../contract/journal.ts"
import { checkJournal } from "../contract/journal-check.ts"
import { redactor } from "../contract/redaction.ts"
import { toHtml, toSvg } from "../observe/diagram/html.ts"
import { toMermaid } from "../observe/diagram/mermaid.ts"
import { openJournal } from "./journal-option.ts"
import { loadPipeline, UsageError } from "./load-pipeline.ts"

/**
 * Options of `switchboard viz`.
 *
 * @example
 * const options: VizOptions = { html: "run.html", run: "r-42", journal: "sqlite:runs.db" }
 */
export interface VizOptions {
  /** Print the Mermaid `stateDiagram-v2` text (the default when `html` is not given). */
  readonly mermaid?: boolean
  /** Write a self-contained HTML page to this path. */
  readonly html?: string
  /** Write the chart alone as a standalone SVG file to this path. */
  readonly svg?: string
  /** A run to highlight, read from `journal`. */
  readonly run?: string
  /** Where the run is journaled: `sqlite:PATH` or `postgres:URL[#schema]`. */
  readonly journal?: string
  /** Which export of the file holds the pipeline. */
  readonly pipeline?: string
  /** Title of the HTML page. */
  readonly title?: string
}

/** Where `viz` writes: Mermaid text to `out`, the "wrote FILE" notice to `error` (so piped Mermaid stays clean). */
export interface VizOutput {
  readonly out: (line: string) => void
  readonly error: (line: string) => void
}

/**
 * `switchboard viz <file>`: prints the pipeline's chart as Mermaid and/or writes it as an offline
 * HTML page; with `--run ID --journal sqlite:PATH` the chart shows that run's path and timeline.
 * Resolves with the exit code (0); mistakes in the call throw a `UsageError` (exit code 2).
 *
 * @example
 * const code = await vizCommand("machines/support-triage.machine.ts", { html: "triage.html" }, { out: console.log, error: console.error })
 */
export const vizCommand = async (file: string, options: VizOptions, output: VizOutput): Promise<number> => {
  if (options.run !== undefined && (options.journal === undefined || options.journal === "memory")) {
    throw new UsageError("viz --run needs the journal the run is in: --journal sqlite:PATH or postgres:URL")
  }
  if (options.run === undefined && options.journal !== undefined) throw new UsageError("viz --journal is only used with --run <runId>")
  if (options.html !== undefined && options.html.trim() === "") throw new UsageError("viz --html needs a file path")
  if (options.svg !== undefined && options.svg.trim() === "") throw new UsageError("viz --svg needs a file path")
  const { pipeline } = await loadPipeline(file, options.pipeline)
  const run = options.run === undefined ? undefined : await readRun(options.run, options.journal as string, pipeline.id)
  const diagramOptions = run === undefined ? {} : { run }
  if (options.mermaid === true || (options.html === undefined && options.svg === undefined)) {
    for (const line of toMermaid(pipeline, diagramOptions).trimEnd().split("\n")) output.out(line)
  }
  if (options.html !== undefined) {
    const page = toHtml(pipeline, { ...diagramOptions, ...(options.title === undefined ? {} : { title: options.title }) })
    try {
      writeFileSync(options.html, page)
    } catch (error) {
      throw new UsageError(`viz --html ${options.html}: cannot write the file: ${error instanceof Error ? error.message : String(error)}`)
    }
    output.error(`wrote ${options.html}${run === undefined ? "" : ` (run ${options.run})`}`)
  }
  if (options.svg !== undefined) {
    try {
      writeFileSync(options.svg, toSvg(pipeline, diagramOptions))
    } catch (error) {
      throw new UsageError(`viz --svg ${options.svg}: cannot write the file: ${error instanceof Error ? error.message : String(error)}`)
    }
    output.error(`wrote ${options.svg}${run === undefined ? "" : ` (run ${options.run})`}`)
  }
  return 0
}

const readRun = async (runId: string, journalValue: string, pipelineId: string): Promise<readonly JournalEntry[]> => {
  const opened = await openJournal(journalValue)
  try {
    // Drawn as observers see a run: fields named like a secret are masked in inputs and outputs too.
    const show = redactor(undefined)
    const entries = checkJournal(runId, await opened.journal.read(runId)).map((entry) => ({ ...show.full(entry), seq: entry.seq }) as JournalEntry)
    if (entries.length === 0) throw new UsageError(`no run "${runId}" in ${journalValue}`)
    const started = entries.find((entry) => entry.type === "run.started")
    if (started?.type === "run.started" && started.pipeline !== pipelineId) {
      throw new UsageError(`run "${runId}" belongs to pipeline "${started.pipeline}", not "${pipelineId}"`)
    }
    return entries
  } finally {
    await opened.close()
  }
}
