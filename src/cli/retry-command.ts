import type { RunResult } from "../run/result.ts"
import { RetryError } from "../run/retry.ts"
import { type CommandOptions, decideHint, interruptible, type Output, progress, report, requireDurable, withJournal } from "./commands.ts"
import { loadPipeline, UsageError } from "./load-pipeline.ts"

/**
 * `switchboard retry <file> <runId>`: continues a failed or cancelled run from the step that
 * failed (after you fixed its prompt, its schema or its code). Finished steps, branches and map
 * items come from the journal; only the failed ones run again. A run that is done, stopped,
 * waiting, not finished, unknown, changed (without `--allow-structure-change`) or executing
 * elsewhere exits 2 with the reason, its journal unchanged.
 *
 * @example
 * process.exitCode = await retryCommand("pipelines/orders.ts", runId, { journal: "sqlite:runs.db" }, output)
 */
export const retryCommand = async (
  file: string,
  runId: string,
  options: CommandOptions & { readonly allowStructureChange?: boolean },
  output: Output,
): Promise<number> => {
  requireDurable("retry", options.journal)
  const loaded = await loadPipeline(file, options.pipeline)
  return withJournal(options.journal, async ({ journal, durable }) => {
    if (options.json !== true) output.out(`↻ ${loaded.pipeline.id} (run ${runId}) retries from the step that failed`)
    let result: RunResult<Record<string, unknown>>
    try {
      result = await interruptible((signal, drain) =>
        loaded.pipeline.retry(runId, {
          models: loaded.models,
          journal,
          signal,
          drain,
          ...(options.allowStructureChange === true ? { allowStructureChange: true } : {}),
          ...progress(options, output),
        }),
      )
    } catch (error) {
      if (error instanceof RetryError) throw new UsageError(error.message)
      throw error
    }
    return report(result, options, output, decideHint(file, result, durable))
  })
}
