import { createServer, type Http2Server, type Http2Session } from "node:http2"
import * as restate from "@restatedev/restate-sdk"
import { toMillis } from "../../contract/duration.ts"
import type { RunEvent } from "../../contract/events.ts"
import type { Journal } from "../../contract/journal.ts"
import { visitKey } from "../../contract/keys.ts"
import type { Models } from "../../contract/model.ts"
import type { Pipeline, RunOptions } from "../../run/create-runner.ts"
import type { RunResult } from "../../run/result.ts"
import { projectionJournal } from "./projection.ts"
import { restateStepExecutor } from "./step-executor.ts"

// biome-ignore lint/suspicious/noExplicitAny: an endpoint serves pipelines of any input and steps
type AnyPipeline = Pipeline<any, any>

/** Where a run waits, kept in the workflow's state so `decide` can check a decision against it. */
const WAITING = "switchboard.waiting"

/**
 * What `decide` (the workflow's shared handler) takes: the human step and its decision.
 *
 * @example
 * const request: DecideRequest = { step: "review", decision: { approve: true } }
 */
export interface DecideRequest {
  readonly step: string
  readonly decision: unknown
}

/**
 * The human step a run on Restate is waiting on, as the `waiting` handler reports it.
 *
 * @example
 * const waiting: RestateWaiting = { step: "review", visit: 1 }
 */
export interface RestateWaiting {
  readonly step: string
  readonly visit: number
}

/**
 * Options of {@link restateEndpoint}.
 *
 * @example
 * const options: RestateEndpointOptions = { pipelines: [triage], models: { fast: scriptedModel(["refund"]) }, store: sqliteJournal({ path: "runs.db" }) }
 */
export interface RestateEndpointOptions {
  /** Each becomes a Restate workflow named by the pipeline's id, keyed by run id. */
  readonly pipelines: readonly AnyPipeline[]
  readonly models?: Models
  /** Where each run's events are mirrored (a projection of Restate's journal) for `switchboard show`, logs and evals. */
  readonly store?: Journal
  /**
   * Observers, redaction and prices, as for a local run. With a `store`, observers see each event
   * once even when Restate replays the run; without one they see replayed events again.
   */
  readonly runOptions?: Pick<RunOptions, "observers" | "onEvent" | "redact" | "prices">
  /**
   * Restate's options for every workflow: retry policy of crashed invocations, inactivity and
   * abort timeouts (raise them above your slowest step), retention.
   */
  readonly workflowOptions?: restate.WorkflowOptions
  /** Where the Restate SDK logs (default: the SDK's console logger); `() => {}` silences it. */
  readonly logger?: restate.LoggerTransport
}

/**
 * A Restate service endpoint serving pipelines as workflows.
 *
 * @example
 * const endpoint = restateEndpoint({ pipelines: [triage], models })
 * const server = await endpoint.listen(9080)
 * await server.close()
 */
export interface RestateEndpoint {
  /** The Restate workflow definitions, to bind into an endpoint of your own. */
  readonly workflows: readonly restate.WorkflowDefinition<string, restate.Workflow<Record<string, unknown>>>[]
  /** A Node request handler (HTTP/2 or HTTP/1.1) serving them. */
  readonly handler: ReturnType<typeof restate.createEndpointHandler>
  /** Serves them over HTTP/2 (what Restate speaks by default) on `port` (0: any free port). */
  listen(port?: number, host?: string): Promise<{ readonly port: number; readonly url: string; close(): Promise<void> }>
}

/**
 * Serves each pipeline as a Restate workflow keyed by run id: the same compiled machine runs in the
 * `run` handler, every step visit runs in `ctx.run("<step>#<visit>")` (so a replay returns
 * finished steps' results and never runs them again), and a human step waits on the durable
 * promise `<step>#<visit>` with its timeout as a durable timer. `decide` resolves that promise
 * after validating the decision; `waiting` tells where a run waits.
 *
 * @example
 * const endpoint = restateEndpoint({ pipelines: [triage], models, store: sqliteJournal({ path: "runs.db" }) })
 * await endpoint.listen(9080) // then register http://host:9080 with the Restate admin API
 */
export const restateEndpoint = (options: RestateEndpointOptions): RestateEndpoint => {
  const seen = new Set<string>()
  for (const pipeline of options.pipelines) {
    // Restate refuses service names starting with "restate" (reserved for its own services).
    if (/^restate/i.test(pipeline.id))
      throw new RangeError(`restateEndpoint: pipeline id "${pipeline.id}" starts with "restate", a prefix Restate reserves; rename the pipeline`)
    if (seen.has(pipeline.id)) throw new RangeError(`restateEndpoint: two pipelines have the id "${pipeline.id}"; workflow names must be unique`)
    seen.add(pipeline.id)
  }
  const workflows = options.pipelines.map((pipeline) =>
    restate.workflow({
      name: pipeline.id,
      handlers: {
        run: (ctx: restate.WorkflowContext, input: unknown) => runOnRestate(ctx, pipeline, input, options),
        decide: (ctx: restate.WorkflowSharedContext, request: DecideRequest) => decide(ctx, pipeline, request),
        waiting: async (ctx: restate.WorkflowSharedContext): Promise<RestateWaiting | null> => (await ctx.get<RestateWaiting>(WAITING)) ?? null,
      },
      ...(options.workflowOptions === undefined ? {} : { options: options.workflowOptions }),
    }),
  )
  const handler = restate.createEndpointHandler({ services: workflows, ...(options.logger === undefined ? {} : { logger: options.logger }) })
  return {
    workflows,
    handler,
    listen: (port = 0, host = "127.0.0.1") =>
      new Promise((resolve, reject) => {
        const server: Http2Server = createServer(handler)
        const sessions = new Set<Http2Session>()
        server.on("session", (session) => {
          sessions.add(session)
          session.once("close", () => sessions.delete(session))
        })
        server.once("error", reject)
        server.listen(port, host, () => {
          const address = server.address()
          const bound = typeof address === "object" && address !== null ? address.port : port
          resolve({
            port: bound,
            url: `http://${host}:${bound}`,
            close: () =>
              new Promise<void>((closed) => {
                server.close(() => closed())
                // Restate keeps its HTTP/2 connection open: end it so close() does not wait for Restate.
                for (const session of sessions) session.destroy()
              }),
          })
        })
      }),
  }
}

const runOnRestate = async (
  ctx: restate.WorkflowContext,
  pipeline: AnyPipeline,
  input: unknown,
  options: RestateEndpointOptions,
): Promise<RunResult<unknown>> => {
  const projection = options.store === undefined ? undefined : await projectionJournal(options.store, ctx.key)
  let reject: (error: unknown) => void = () => {}
  const aborted = new Promise<never>((_, rejectWith) => (reject = rejectWith))
  let handle: ReturnType<AnyPipeline["start"]> | undefined
  const pendingArrivals: Array<{ step: string; visit: number }> = []
  // A human step: wait on its durable promise; its deadline is a durable timer, so it fires even
  // when every service process was restarted meanwhile.
  const awaitHuman = async (step: string, visit: number) => {
    const live = handle
    if (live === undefined) return void pendingArrivals.push({ step, visit })
    const definition = pipeline.definitions.get(step)
    const timeout = definition?.kind === "human" && definition.timeout !== undefined ? toMillis(definition.timeout) : undefined
    ctx.set<RestateWaiting>(WAITING, { step, visit })
    const decision = ctx.promise<unknown>(visitKey(step, visit)).get()
    let outcome: { readonly decision: unknown } | { readonly expired: true }
    try {
      outcome = { decision: await (timeout === undefined ? decision : decision.orTimeout(timeout)) }
    } catch (error) {
      if (!(error instanceof restate.TimeoutError)) throw error
      outcome = { expired: true }
    }
    ctx.clear(WAITING)
    if ("decision" in outcome) live.send(step as never, outcome.decision as never)
    else live.actor.send({ type: `${step}.expire` })
  }
  const onEvent = (event: RunEvent) => {
    if (event.type === "human.waiting") awaitHuman(event.step, event.visit).catch(reject)
  }
  const { observers = [], onEvent: userOnEvent, ...runOptions } = options.runOptions ?? {}
  handle = pipeline.start(input, {
    ...runOptions,
    runId: ctx.key,
    models: options.models ?? {},
    executor: restateStepExecutor(ctx, runOptions.redact === undefined ? {} : { redact: runOptions.redact }),
    ...(projection === undefined ? {} : { journal: projection }),
    observers: [onEvent, ...firstTimeOnly([...(userOnEvent === undefined ? [] : [userOnEvent]), ...observers], projection?.written ?? 0)],
  })
  for (const arrival of pendingArrivals.splice(0)) awaitHuman(arrival.step, arrival.visit).catch(reject)
  const waits = [aborted, ...(projection === undefined ? [] : [projection.failed])]
  // A projection write that failed ends this attempt with a plain (retryable) error: Restate
  // retries the invocation, the replay runs no finished step again and the projection catches up.
  const result = await Promise.race([handle.result, ...waits])
  return result as RunResult<unknown>
}

/**
 * A replay produces the run's events again; the store skips those it holds, and so do the user's
 * observers (logs, spans): the n-th journaled event is the one at `seq` n. Text deltas are never
 * journaled and are only produced live.
 */
const firstTimeOnly = (listeners: ReadonlyArray<(event: RunEvent) => void>, replayed: number): Array<(event: RunEvent) => void> => {
  if (listeners.length === 0 || replayed === 0) return [...listeners]
  let seq = 0
  return [
    (event) => {
      if (event.type !== "model.delta" && seq++ < replayed) return
      for (const listener of listeners) listener(event)
    },
  ]
}

const decide = async (ctx: restate.WorkflowSharedContext, pipeline: AnyPipeline, request: DecideRequest): Promise<RestateWaiting> => {
  const step = typeof request === "object" && request !== null ? request.step : undefined
  const definition = typeof step === "string" ? pipeline.definitions.get(step) : undefined
  if (definition === undefined) {
    throw new restate.TerminalError(`"${String(step)}" is not a step of pipeline "${pipeline.id}"`, { errorCode: 404, metadata: { reason: "not-human-step" } })
  }
  if (definition.kind !== "human") {
    throw new restate.TerminalError(`"${step}" is a ${definition.kind} step, not a human step`, { errorCode: 400, metadata: { reason: "not-human-step" } })
  }
  const waiting = await ctx.get<RestateWaiting>(WAITING)
  if (waiting === null || waiting.step !== step) {
    throw new restate.TerminalError(`run ${ctx.key} is not waiting on "${step}"${waiting === null ? "" : ` (it waits on "${waiting.step}")`}`, {
      errorCode: 409,
      metadata: { reason: "not-waiting" },
    })
  }
  // Checked before the promise is resolved: an invalid decision leaves the run exactly as it was.
  const parsed = definition.decision.safeParse(request.decision)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join(".") || "(root)", message: issue.message }))
    throw new restate.TerminalError(`decision for "${step}" is invalid`, {
      errorCode: 422,
      metadata: { reason: "invalid-decision", issues: JSON.stringify(issues) },
    })
  }
  // The decision as given: the run parses it once more, exactly as a local `send` would, so a
  // schema with transforms is applied once.
  await ctx.promise<unknown>(visitKey(waiting.step, waiting.visit)).resolve(request.decision)
  return waiting
}
