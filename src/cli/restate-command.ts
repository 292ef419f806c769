// `switchboard serve --restate` and `switchboard run --engine restate:URL`. Loaded only when one of
// them runs, so no other command loads the Restate SDK.

import { RestateClientError, restateClient } from "../engines/restate/client.ts"
import { restateEndpoint } from "../engines/restate/endpoint.ts"
import { DecisionError } from "../run/result.ts"
import { exitCodes, type Output, withJournal } from "./commands.ts"
import { mask, parseJournal } from "./journal-option.ts"
import { loadPipeline, loadPipelines, parseInput, UsageError } from "./load-pipeline.ts"
import { formatResult, redact } from "./progress.ts"

/**
 * Options of `switchboard serve --restate`, as commander gives them.
 *
 * @example
 * const options: ServeRestateOptions = { port: "9080", journal: "sqlite:.switchboard/runs.db" }
 */
export interface ServeRestateOptions {
  readonly port?: string
  readonly host?: string
  readonly journal?: string
}

/**
 * `switchboard serve --restate <file>`: serves every pipeline the file exports as a Restate
 * workflow until SIGINT or SIGTERM, mirroring run events into `--journal` when given.
 *
 * @example
 * process.exitCode = await serveRestateCommand("pipelines/orders.ts", { port: "9080", journal: "sqlite:runs.db" }, output)
 */
export const serveRestateCommand = async (file: string, options: ServeRestateOptions, output: Output): Promise<number> => {
  const port = Number(options.port ?? "9080")
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${options.port}"`)
  if (options.journal !== undefined) parseJournal(options.journal)
  const loaded = await loadPipelines(file)
  // Events are mirrored only into a journal asked for: without --journal, none (memory).
  return withJournal(options.journal ?? "memory", async ({ journal, durable }) => {
    const endpoint = restateEndpoint({ pipelines: loaded.pipelines, models: loaded.models, ...(durable === undefined ? {} : { store: journal }) })
    const listening = await endpoint.listen(port, options.host ?? "127.0.0.1")
    const ids = loaded.pipelines.map((pipeline) => pipeline.id).join(", ")
    output.error(`switchboard serve: ${ids} as Restate workflows on ${listening.url}${durable === undefined ? "" : `, events mirrored to ${mask(durable)}`}`)
    output.error(`register it once: curl -X POST http://<restate-admin>:9070/deployments -H 'content-type: application/json' -d '{"uri":"${listening.url}"}'`)
    const signal = await new Promise<string>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"))
      process.once("SIGTERM", () => resolve("SIGTERM"))
    })
    // Restate retries whatever was in flight on another endpoint (or on this one when it is back).
    output.error(`switchboard serve: ${signal}: stopping; runs in flight continue when Restate reaches an endpoint again`)
    await listening.close()
    return exitCodes.done
  })
}

const ingressOf = (engine: string): string => {
  const ingress = engine.slice("restate:".length)
  if (!engine.startsWith("restate:") || !/^https?:\/\//.test(ingress)) {
    throw new UsageError(`--engine must be local or restate:INGRESS_URL, e.g. restate:http://127.0.0.1:8080 (got "${engine}")`)
  }
  return ingress
}

/**
 * `switchboard decide <file> <runId> <step> --engine restate:URL`: delivers a decision to a run
 * waiting on Restate. The run continues there; this prints that the decision was accepted.
 *
 * @example
 * process.exitCode = await decideOnRestateCommand("pipelines/orders.ts", "restate:http://127.0.0.1:8080", runId, "review", { decision: '{"approve":true}' }, output)
 */
export const decideOnRestateCommand = async (
  file: string,
  engine: string,
  runId: string,
  step: string,
  options: { readonly decision?: string; readonly pipeline?: string; readonly json?: boolean },
  output: Output,
): Promise<number> => {
  const ingress = ingressOf(engine)
  if (options.decision === undefined) throw new UsageError("decide needs --decision JSON|@file.json")
  const decision = parseInput(options.decision, "--decision")
  const loaded = await loadPipeline(file, options.pipeline)
  try {
    await restateClient({ ingress }).decide(loaded.pipeline, runId, step as never, decision as never)
  } catch (error) {
    // Not waiting there, not a human step, or a decision that fails the step's schema: the run is unchanged.
    if (error instanceof DecisionError || error instanceof RestateClientError) throw new UsageError(error.message)
    throw error
  }
  output.out(options.json === true ? JSON.stringify({ runId, step, accepted: true }) : `decision for "${step}" accepted; run ${runId} continues on Restate`)
  return exitCodes.done
}

/**
 * `switchboard run --engine restate:URL <file>`: starts the run on Restate through its ingress
 * and waits for the result; the run id is printed first, so another shell can decide it.
 *
 * @example
 * process.exitCode = await runOnRestateCommand("pipelines/orders.ts", "restate:http://127.0.0.1:8080", { input: "{}" }, output)
 */
export const runOnRestateCommand = async (
  file: string,
  engine: string,
  options: { readonly input?: string; readonly json?: boolean; readonly pipeline?: string; readonly runId?: string },
  output: Output,
): Promise<number> => {
  const ingress = ingressOf(engine)
  const input = parseInput(options.input)
  const loaded = await loadPipeline(file, options.pipeline)
  const client = restateClient({ ingress })
  let runId: string
  try {
    runId = await client.start(loaded.pipeline, input, options.runId === undefined ? {} : { runId: options.runId })
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(`--input: ${error.message}`)
    throw error
  }
  output.error(`started run ${runId} of ${loaded.pipeline.id} on Restate (${ingress})`)
  try {
    const result = await client.result(loaded.pipeline, runId)
    const shown = result.status === "failed" ? { ...result, error: { ...result.error, message: redact(result.error.message) } } : result
    output.out(options.json === true ? JSON.stringify(shown, null, 2) : formatResult(result))
    return exitCodes[result.status]
  } catch (error) {
    if (error instanceof RestateClientError || error instanceof DecisionError) throw new UsageError(error.message)
    throw error
  }
}
