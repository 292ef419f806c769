#!/usr/bin/env node
// The `switchboard` command: wires commander to the run, decide and runs commands.
import { readFileSync } from "node:fs"
import { Command, CommanderError } from "commander"
import { decideCommand, exitCodes, runCommand, runsCommand, type Output } from "./commands.ts"
import { UsageError } from "./load-pipeline.ts"

const conventions = `
Pipeline files:
  A .ts or .js module. The pipeline is its default export, else its only export
  that is a pipeline (has .machine and .run); --pipeline NAME picks an export.
  Models come from an exported \`models\` (an object of models by alias, or a
  function returning one), else from an exported \`scriptedModels()\`; without
  either, only steps that need no model can run.

Exit codes:
  0 done, 1 failed, 2 usage error, 3 awaiting a human decision or stopped`

const version = (): string => {
  try {
    // Same relative place from src/cli and dist/cli.
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

/**
 * Builds the `switchboard` program; `result.code` holds the exit code of the command that ran.
 *
 * @example
 * const { program, result } = createProgram({ out: console.log, error: console.error })
 * await program.parseAsync(["node", "switchboard", "run", "machines/triage.machine.ts"])
 */
const createProgram = (output: Output): { readonly program: Command; readonly result: { code: number } } => {
  const result = { code: 0 }
  const program = new Command("switchboard")
    .description("Run switchboard pipelines: typed statecharts for LLM pipelines.")
    .version(version())
    .exitOverride()
    .configureOutput({ writeOut: (text) => process.stdout.write(text), writeErr: (text) => process.stderr.write(text) })
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", conventions)

  program
    .command("run")
    .description("run a pipeline file and print one line per event, then the result")
    .argument("<file>", "pipeline file (.ts or .js)")
    .option("--input <json>", "run input: inline JSON or @file.json (default: {})")
    .option("--json", "print only the result, as JSON")
    .option("--journal <journal>", "where events go: memory or sqlite:PATH", "memory")
    .option("--pipeline <export>", "which export of the file to run")
    .addHelpText("after", conventions)
    .action(async (file: string, options: { input?: string; json?: boolean; journal?: string; pipeline?: string }) => {
      result.code = await runCommand(file, options, output)
    })

  program
    .command("decide")
    .description("deliver a human decision to a run paused in a sqlite journal, and continue it")
    .argument("<file>", "the pipeline file the run came from")
    .argument("<runId>", "the paused run")
    .argument("<step>", "the human step it waits on")
    .requiredOption("--decision <json>", "the decision: inline JSON or @file.json")
    .requiredOption("--journal <journal>", "the run's journal: sqlite:PATH")
    .option("--json", "print only the result, as JSON")
    .option("--pipeline <export>", "which export of the file to run")
    .action(async (file: string, runId: string, step: string, options: { decision?: string; json?: boolean; journal?: string; pipeline?: string }) => {
      result.code = await decideCommand(file, runId, step, options, output)
    })

  program
    .command("runs")
    .description("list the runs of a sqlite journal: id, pipeline, status, last update")
    .requiredOption("--journal <journal>", "the journal: sqlite:PATH")
    .option("--json", "print the list as JSON")
    .action((options: { json?: boolean; journal?: string }) => {
      result.code = runsCommand(options, output)
    })

  return { program, result }
}

/**
 * Runs the CLI with `argv` (as in `process.argv`) and resolves to its exit code.
 *
 * @example
 * process.exitCode = await main(process.argv)
 */
const main = async (argv: readonly string[]): Promise<number> => {
  const output: Output = { out: (line) => process.stdout.write(`${line}\n`), error: (line) => process.stderr.write(`${line}\n`) }
  const { program, result } = createProgram(output)
  try {
    await program.parseAsync([...argv])
    return result.code
  } catch (error) {
    // Commander has already printed its own message (or the help / version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodes.usage
    if (error instanceof UsageError) {
      output.error(`switchboard: ${error.message}`)
      return exitCodes.usage
    }
    output.error(`switchboard: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    return exitCodes.failed
  }
}

process.exitCode = await main(process.argv)
// A provider client or a stray timer must not keep a finished command alive.
setTimeout(() => process.exit(), 2000).unref()
