#!/usr/bin/env node
// The `switchboard` command: wires commander to the run, decide, resume, runs, worker, viz and eval commands.
import { readFileSync } from "node:fs"
import { Command, CommanderError } from "commander"
import { decideCommand, exitCodes, type Output, resumeCommand, runCommand, runsCommand } from "./commands.ts"
import { isErrorNamed } from "./error-names.ts"
import { type EvalCommandOptions, evalCommand } from "./eval-command.ts"
import { addInspectOptions, type InspectFlags, withInspector } from "./inspect.ts"
import { UsageError } from "./load-pipeline.ts"
import { nodeVersionProblem, requiredNode } from "./node-version.ts"
import { terminalOutput } from "./progress.ts"
import { type ShowOptions, showCommand } from "./show-command.ts"
import { checkCommand, pathsCommand } from "./verify-commands.ts"
import { vizCommand } from "./viz-command.ts"
import { workerCommand } from "./worker-command.ts"

const conventions = `
Pipeline files:
  A .ts or .js module. The pipeline is its default export, else its only export
  that is a pipeline (has .machine and .run); --pipeline NAME picks an export.
  Models come from an exported \`models\` (an object of models by alias, or a
  function returning one), else from an exported \`scriptedModels()\`; without
  either, only steps that need no model can run.

Journals (--journal):
  (none)                  $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db (run, runs,
                          show, decide, resume and worker all default to it)
  memory                  this process only
  sqlite:PATH             an embedded SQLite database, e.g. sqlite:.switchboard/runs.db
  postgres:URL[#schema]   a Postgres database shared by any number of processes,
                          e.g. postgres:postgres://app@db:5432/app#billing; an empty
                          URL (postgres: or postgres:#schema) uses SWITCHBOARD_DATABASE_URL;
                          the schema defaults to "switchboard" and is created at first use
  SWITCHBOARD_JOURNAL_KEY encrypts what sqlite: and postgres: journals keep (AES-256-GCM):
                          a 32-byte key as 64 hex characters or base64, or id:key, or
                          several separated by commas to rotate (the first encrypts)

Exit codes:
  0 done, 1 failed (eval: a regression), 2 usage error, 3 awaiting a human decision or stopped`

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

  addInspectOptions(
    program
      .command("run")
      .description("run a pipeline file and print one line per event, then the result")
      .argument("<file>", "pipeline file (.ts or .js)")
      .option("--input <json>", "run input: inline JSON or @file.json (default: {})")
      .option("--json", "print only the result, as JSON")
      .option("--log <file.jsonl>", "append every event of the run as a JSON line (redacted, long strings truncated)")
      .option(
        "--journal <journal>",
        "where events go: memory, sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)",
      )
      .option("--pipeline <export>", "which export of the file to run")
      .option("--engine <engine>", "where the run executes: local (default) or restate:INGRESS_URL (a `switchboard serve --restate` endpoint registered there)")
      .addHelpText("after", conventions),
  ).action(
    async (
      file: string,
      {
        inspect,
        inspectLinger,
        engine,
        ...options
      }: { input?: string; json?: boolean; journal?: string; pipeline?: string; log?: string; engine?: string } & InspectFlags,
    ) => {
      if (engine !== undefined && engine !== "local") {
        if (!engine.startsWith("restate:")) throw new UsageError(`--engine must be local or restate:INGRESS_URL, got "${engine}"`)
        const { runOnRestateCommand } = await import("./restate-command.ts")
        result.code = await runOnRestateCommand(file, engine, options, output)
        return
      }
      result.code = await withInspector({ inspect, inspectLinger }, output, (inspecting) => runCommand(file, { ...options, ...inspecting }, output))
    },
  )

  program
    .command("decide")
    .description("deliver a human decision to a run paused in a durable journal, and continue it")
    .argument("<file>", "the pipeline file the run came from")
    .argument("<runId>", "the paused run")
    .argument("<step>", "the human step it waits on, or the address of a wait inside fan-out (refunds[2], brief.legal: see `switchboard pending`)")
    .option("--decision <json>", "the decision: inline JSON or @file.json (without it, prints the JSON Schema the step expects)")
    .option("--journal <journal>", "the run's journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--json", "print only the result, as JSON")
    .option("--log <file.jsonl>", "append every event of the run as a JSON line (redacted, long strings truncated)")
    .option("--pipeline <export>", "which export of the file to run")
    .option("--engine <engine>", "a run executing on Restate: restate:INGRESS_URL (the decision is delivered there; the run continues there)")
    .action(
      async (
        file: string,
        runId: string,
        step: string,
        { engine, ...options }: { decision?: string; json?: boolean; journal?: string; pipeline?: string; log?: string; engine?: string },
      ) => {
        if (engine !== undefined && engine !== "local") {
          const { decideOnRestateCommand } = await import("./restate-command.ts")
          result.code = await decideOnRestateCommand(file, engine, runId, step, options, output)
          return
        }
        result.code = await decideCommand(file, runId, step, options, output)
      },
    )

  addInspectOptions(
    program
      .command("resume")
      .description(
        "continue a run from its journal (after a crash): finished steps are not run again, the step in flight runs again with the same idempotency key",
      )
      .argument("<file>", "the pipeline file the run came from")
      .argument("<runId>", "the run to continue")
      .option(
        "--journal <journal>",
        "the run's journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)",
      )
      .option("--json", "print only the result, as JSON")
      .option("--log <file.jsonl>", "append every event of the run as a JSON line (redacted, long strings truncated)")
      .option("--pipeline <export>", "which export of the file to run")
      .option("--allow-structure-change", "resume even though the pipeline's graph changed since the run started")
      .addHelpText(
        "after",
        `
A run that cannot be resumed (unknown, already finished, of another pipeline,
changed graph, corrupt journal, executing in another process) exits 2 with the
reason; for a changed graph, each change is listed.`,
      ),
  ).action(
    async (
      file: string,
      runId: string,
      {
        inspect,
        inspectLinger,
        ...options
      }: { json?: boolean; journal?: string; pipeline?: string; allowStructureChange?: boolean; log?: string } & InspectFlags,
    ) => {
      result.code = await withInspector({ inspect, inspectLinger }, output, (inspecting) => resumeCommand(file, runId, { ...options, ...inspecting }, output))
    },
  )

  program
    .command("retry")
    .description(
      "continue a failed or cancelled run from the step that failed (after fixing it): finished steps, branches and map items come from the journal, only the failed ones run again",
    )
    .argument("<file>", "the pipeline file the run came from")
    .argument("<runId>", "the failed run")
    .option("--journal <journal>", "the run's journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--json", "print only the result, as JSON")
    .option("--log <file.jsonl>", "append every event of the run as a JSON line (redacted, long strings truncated)")
    .option("--pipeline <export>", "which export of the file to run")
    .option("--allow-structure-change", "retry even though the pipeline's graph changed since the run started")
    .addHelpText(
      "after",
      `
A run that cannot be retried (done, stopped, waiting on a decision, not
finished, unknown, of another pipeline, changed graph, executing in another
process) exits 2 with the reason; its journal is unchanged.`,
    )
    .action(
      async (file: string, runId: string, options: { json?: boolean; journal?: string; pipeline?: string; allowStructureChange?: boolean; log?: string }) => {
        const { retryCommand } = await import("./retry-command.ts")
        result.code = await retryCommand(file, runId, options, output)
      },
    )

  const collect = (value: string, previous: string[] = []) => [...previous, value]
  program
    .command("fork")
    .description(
      "start a new run from a recorded one: what it journaled before --at is copied (not run again), edits applied, the steps from --at on run under a new id",
    )
    .argument("<file>", "the pipeline file the run came from")
    .argument("<runId>", "the run to fork")
    .requiredOption("--journal <journal>", "the run's journal (the fork is written there too): sqlite:PATH or postgres:URL[#schema]")
    .requiredOption("--at <point>", "where the fork starts: step, step#visit, or a seq of the source journal")
    .option("--edit-output <step=json>", "replace the output of a step that finished before the fork point (repeatable)", collect)
    .option("--edit-decision <step=json>", "replace a human step's decision made before the fork point (repeatable)", collect)
    .option("--edit-input <json>", "the new run's input (inline JSON or @file.json)")
    .option("--json", "print only the result, as JSON")
    .option("--log <file.jsonl>", "append every event of the run as a JSON line (redacted, long strings truncated)")
    .option("--pipeline <export>", "which export of the file to run")
    .option("--allow-structure-change", "fork even though the pipeline's graph changed since the run started")
    .action(async (file: string, runId: string, options: Record<string, unknown>) => {
      const { forkCommand } = await import("./fork-command.ts")
      result.code = await forkCommand(file, runId, options, output)
    })

  program
    .command("show")
    .description(
      "print a run's step-by-step timeline from its journal: durations, attempts and retries, routes, tokens and cost, model and tool calls, repairs, human waits, how it ended",
    )
    .argument("<runId>", "the run")
    .option("--journal <journal>", "the run's journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--json", "print the run's trace and its raw journal entries as JSON")
    .option("--full", "also print prompts, responses, tool arguments and results, outputs and decisions (each cut to 500 characters; secrets are masked)")
    .action(async (runId: string, options: ShowOptions) => {
      result.code = await showCommand(runId, options, output)
    })

  program
    .command("runs")
    .description("list the runs of a durable journal, latest first: id, pipeline, status, age of the last update (and, on Postgres, the process executing it)")
    .option("--journal <journal>", "the journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--json", "print the list as JSON")
    .option("--status <statuses>", "only runs in these statuses, comma-separated: running, awaiting-human, done, failed, stopped")
    .action(async (options: { json?: boolean; journal?: string; status?: string }) => {
      result.code = await runsCommand(options, output)
    })

  program
    .command("pending")
    .description("list the decisions a paused run waits for, each by its address (refunds[2], brief.legal); with the file, the JSON Schema each expects")
    .argument("<runId>", "the paused run")
    .argument("[file]", "the pipeline file the run came from (for the decisions' JSON Schemas)")
    .option("--journal <journal>", "the run's journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--pipeline <export>", "which export of the file the run came from")
    .option("--json", "print the list as JSON")
    .action(async (runId: string, file: string | undefined, options: { json?: boolean; journal?: string; pipeline?: string }) => {
      const { pendingCommand } = await import("./pending-command.ts")
      result.code = await pendingCommand(runId, file, options, output)
    })

  program
    .command("worker")
    .description("execute the runnable runs of a journal for every pipeline the file exports, until SIGINT or SIGTERM")
    .argument("<file>", "pipeline file (.ts or .js); every pipeline it exports is served")
    .option(
      "--journal <journal>",
      "the journal to take runs from: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)",
    )
    .option("--concurrency <n>", "runs executed at once", "10")
    .option("--poll <ms>", "how often to look for runnable runs (Postgres also wakes on NOTIFY)", "1000")
    .option("--drain-timeout <ms>", "on SIGINT/SIGTERM, how long the steps in flight may finish before their signal aborts", "30000")
    .option("--json", "print each finished run's result as one line of JSON")
    .addHelpText(
      "after",
      `
Takes new runs (submitted with pipeline.submit), decided runs and runs left
behind by a process that died, and prints one line per run it finishes or
pauses. On Postgres any number of workers share a database: each run is
executed by one process at a time. On SQLite run one worker per database.
The first SIGINT/SIGTERM drains: no new run or step starts, the steps in flight
may finish (up to --drain-timeout), every run stays running in the journal for
the next worker, and it exits 0; a second one exits at once.`,
    )
    .action(async (file: string, options: { journal?: string; concurrency?: string; poll?: string; json?: boolean; drainTimeout?: string }) => {
      result.code = await workerCommand(file, options, output)
    })

  program
    .command("serve")
    .description(
      "serve every pipeline a file exports to a durable engine; with --restate, as Restate workflows (register the endpoint with the Restate admin API)",
    )
    .argument("<file>", "pipeline file (.ts or .js)")
    .requiredOption("--restate", "serve as a Restate service endpoint (HTTP/2)")
    .option("--port <port>", "port to listen on", "9080")
    .option("--host <host>", "interface to listen on (0.0.0.0 behind a load balancer)", "127.0.0.1")
    .option("--journal <journal>", "mirror every run's events here for show/runs/viz: sqlite:PATH or postgres:URL[#schema]")
    .action(async (file: string, options: { port?: string; host?: string; journal?: string }) => {
      const { serveRestateCommand } = await import("./restate-command.ts")
      result.code = await serveRestateCommand(file, options, output)
    })

  program
    .command("viz")
    .description("draw a pipeline as Mermaid, or as an offline HTML page with a run's path and timeline")
    .argument("<file>", "pipeline file (.ts or .js)")
    .option("--mermaid", "print the Mermaid stateDiagram-v2 text (the default without --html)")
    .option("--html <file>", "write a self-contained HTML page")
    .option("--svg <file>", "write the chart alone as a standalone SVG file")
    .option("--run <runId>", "highlight this run's path and show its timeline (needs --journal)")
    .option("--journal <journal>", "the run's journal: sqlite:PATH or postgres:URL[#schema]")
    .option("--title <title>", "title of the HTML page")
    .option("--pipeline <export>", "which export of the file to draw")
    .addHelpText("after", conventions)
    .action(
      async (file: string, options: { mermaid?: boolean; html?: string; svg?: string; run?: string; journal?: string; title?: string; pipeline?: string }) => {
        result.code = await vizCommand(file, options, output)
      },
    )

  program
    .command("studio")
    .description("serve a local web UI on a durable journal: runs, their charts and timelines live, and an inbox to decide waiting runs")
    .argument("[file]", "pipelines file (.ts or .js): its runs get charts and can be decided")
    .option("--journal <journal>", "the journal: sqlite:PATH or postgres:URL[#schema] (default: $SWITCHBOARD_JOURNAL, else sqlite:.switchboard/runs.db)")
    .option("--port <port>", "port to listen on (0: any free port)", "4400")
    .option("--host <host>", "interface to listen on; any but loopback requires a token (one is made and printed)", "127.0.0.1")
    .option("--token <token>", "require this token on every request")
    .action(async (file: string | undefined, options: { journal?: string; port?: string; host?: string; token?: string }) => {
      const { studioCommand } = await import("./studio-command.ts")
      result.code = await studioCommand(file, options, output)
    })

  program
    .command("check")
    .description("check a pipeline's graph: unreachable steps, no way out, loops without a stop rule, waits without a deadline; exit 1 on an error")
    .argument("<file>", "pipeline file (.ts or .js)")
    .option("--json", "print the findings as JSON")
    .option("--pipeline <export>", "which export of the file to check")
    .action(async (file: string, options: { json?: boolean; pipeline?: string }) => {
      result.code = await checkCommand(file, options, output)
    })

  program
    .command("paths")
    .description("list the paths a pipeline can take (loops bounded by their stop rules) and the transitions they cover")
    .argument("<file>", "pipeline file (.ts or .js)")
    .option("--simple", "every simple path instead of a short covering set")
    .option("--json", "print the paths and the coverage as JSON")
    .option("--pipeline <export>", "which export of the file to use")
    .action(async (file: string, options: { json?: boolean; simple?: boolean; pipeline?: string }) => {
      result.code = await pathsCommand(file, options, output)
    })

  program
    .command("eval")
    .description("run a pipeline on a dataset, score every row and report; exit 1 on a regression against --baseline")
    .argument("<file>", "pipeline file (.ts or .js)")
    .requiredOption("--data <file>", "dataset: .jsonl, .csv or .json")
    .option("--report <file>", "write the report: HTML, or Markdown when the name ends in .md")
    .option("--json <file>", "write the report as JSON (a later run's --baseline)")
    .option("--baseline <file>", "a previous --json report: exit 1 when a scorer mean falls by more than --threshold")
    .option("--threshold <n>", "allowed drop of a scorer mean, 0..1", "0.02")
    .option("--concurrency <n>", "rows run at once", "8")
    .option("--scorers <file>", "a module exporting `scorers` (default: the pipeline file's `scorers` export)")
    .option("--pipeline <export>", "which export of the file to run")
    .option("--cache [file]", "answer repeated model calls from a response cache (default file .switchboard/model-cache.db)")
    .action(async (file: string, options: EvalCommandOptions) => {
      result.code = await evalCommand(file, options, output)
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
  // A reader that stops early (`| head`) is not an error: stop quietly.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0)
    throw error
  })
  // In a terminal (not CI) run events are a live view; piped or in CI, one line per event.
  const output: Output = terminalOutput(process.stdout, process.stderr, process.env)
  const required = requiredNode()
  const tooOld = required === undefined ? undefined : nodeVersionProblem(process.versions.node, required)
  if (tooOld !== undefined) {
    output.error(`switchboard: ${tooOld}`)
    return exitCodes.usage
  }
  const { program, result } = createProgram(output)
  try {
    await program.parseAsync([...argv])
    return result.code
  } catch (error) {
    // Commander has already printed its own message (or the help / version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : exitCodes.usage
    // A journal that does not read back as its run's events (a torn row, a wrong key) is named in one line.
    // By name, not instanceof: the pipeline file may have thrown with its own copy of the class (cli/error-names.ts).
    if (error instanceof UsageError || isErrorNamed(error, "UsageError", "CorruptJournalError", "CodecError", "ResumeError")) {
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
