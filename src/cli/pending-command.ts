// `switchboard pending <runId> [file]`: the decisions a paused run waits for, each by its address
// (`refunds[2]`, `brief.legal`, `orders[1].approve`), read from its journal; with the pipeline
// file, also the JSON Schema each decision must match and the command that delivers it.
import type { JournalEntry } from "../contract/journal.ts"
import { decisionSchemaOf, stepAt } from "../run/decisions.ts"
import { pendingOf } from "../run/pending-decisions.ts"
import { exitCodes, type Output, requireDurable, withJournal } from "./commands.ts"
import { mask } from "./journal-option.ts"
import { loadPipeline, UsageError } from "./load-pipeline.ts"

/** Options of `switchboard pending`. */
export interface PendingOptions {
  readonly journal?: string
  readonly pipeline?: string
  readonly json?: boolean
}

/**
 * Prints what a run waits for; exit 3 when it waits on something, 0 when on nothing, 2 for an unknown run.
 *
 * @example
 * process.exitCode = await pendingCommand(runId, "pipelines/refunds.ts", { journal: "sqlite:runs.db" }, output)
 */
export const pendingCommand = async (runId: string, file: string | undefined, options: PendingOptions, output: Output): Promise<number> => {
  requireDurable("pending", options.journal)
  const loaded = file === undefined ? undefined : await loadPipeline(file, options.pipeline)
  return withJournal(options.journal, async ({ journal, durable }) => {
    const entries: readonly JournalEntry[] = await journal.read(runId)
    if (entries.length === 0) throw new UsageError(`run ${runId} is not in the journal`)
    const waits = pendingOf(entries).map((wait) => ({
      path: wait.path,
      step: wait.step,
      visit: wait.visit,
      ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
      deadline: wait.deadline ?? null,
      ...(loaded === undefined ? {} : { decision: withoutDialect(decisionSchemaOf(stepAt({ steps: loaded.pipeline.definitions }, wait.path))) }),
    }))
    if (options.json === true) output.out(JSON.stringify(waits, null, 2))
    else if (waits.length === 0) output.out(`run ${runId} waits on no decision`)
    else {
      output.out(`run ${runId} waits on ${waits.length === 1 ? "1 decision" : `${waits.length} decisions`}:`)
      for (const wait of waits) {
        const deadline = wait.deadline === null ? "" : `  (deadline ${new Date(wait.deadline).toISOString()})`
        output.out(`  ${wait.path}${wait.prompt === undefined ? "" : `  ${JSON.stringify(wait.prompt)}`}${deadline}`)
        if (wait.decision !== undefined) output.out(`    expects ${JSON.stringify(wait.decision)}`)
      }
      if (file !== undefined && durable !== undefined) {
        output.out(`decide: switchboard decide ${file} ${runId} '${waits[0]?.path}' --decision '<json>' --journal ${mask(durable)}`)
      }
    }
    return waits.length === 0 ? exitCodes.done : exitCodes["awaiting-human"]
  })
}

const withoutDialect = ({ $schema: _dialect, ...schema }: Record<string, unknown>): Record<string, unknown> => schema
