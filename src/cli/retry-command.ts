import { type CommandOptions, continueCommand, type Output } from "./commands.ts"

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
  return continueCommand(file, options, output, {
    command: "retry",
    banner: (id) => `↻ ${id} (run ${runId}) retries from the step that failed`,
    refusal: "RetryError",
    continueRun: (pipeline, base) => pipeline.retry(runId, base),
  })
}
