import { randomUUID } from "node:crypto"
import type { Pipeline } from "../../run/create-runner.ts"
import { DecisionError, type RunResult } from "../../run/result.ts"
import type { RestateWaiting } from "./endpoint.ts"

// biome-ignore lint/suspicious/noExplicitAny: the client addresses pipelines of any input and steps
type AnyPipeline = Pipeline<any, any>

/**
 * The Restate ingress refused a request or could not be reached. `status` is the HTTP status
 * (undefined when nothing answered).
 *
 * @example
 * try { await client.result(triage, runId) } catch (error) { if (error instanceof RestateClientError) console.error(error.status, error.message) }
 */
export class RestateClientError extends Error {
  override readonly name = "RestateClientError"
  readonly status: number | undefined
  constructor(message: string, status?: number) {
    super(message)
    this.status = status
  }
}

/**
 * Options of {@link restateClient}.
 *
 * @example
 * const options: RestateClientOptions = { ingress: "http://127.0.0.1:8080" }
 */
export interface RestateClientOptions {
  /** The Restate ingress URL, e.g. `http://127.0.0.1:8080`. */
  readonly ingress: string
  /** Extra headers for every request (e.g. an API key of a managed ingress). */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * Starts, decides and awaits runs that execute on Restate, from any process.
 *
 * @example
 * const client = restateClient({ ingress: "http://127.0.0.1:8080" })
 * const runId = await client.start(triage, { ticket: "refund please" })
 * await client.decide(triage, runId, "review", { approve: true })
 * const result = await client.result(triage, runId)
 */
export interface RestateClient {
  /**
   * Starts a run (idempotent per run id: starting it again changes nothing) and resolves with its
   * id. Rejects with a `RangeError` naming each invalid input field; nothing is started.
   */
  start<TInput, TSteps>(pipeline: Pipeline<TInput, TSteps>, input: TInput, options?: { readonly runId?: string }): Promise<string>
  /**
   * Delivers a human decision. Rejects with a {@link DecisionError} (run unchanged) when the run
   * does not wait on `step` or the decision does not match the step's schema.
   */
  decide<TSteps, TStep extends keyof TSteps & string>(
    // biome-ignore lint/suspicious/noExplicitAny: a pipeline of any input type may be decided
    pipeline: Pipeline<any, TSteps> | string,
    runId: string,
    step: TStep,
    decision: TSteps[TStep],
  ): Promise<void>
  /** The human step the run waits on now, or null. */
  waiting(pipeline: AnyPipeline | string, runId: string): Promise<RestateWaiting | null>
  /** Waits for the run to end (done, failed or stopped) and resolves with its result. */
  // biome-ignore lint/suspicious/noExplicitAny: any input
  result<TSteps>(pipeline: Pipeline<any, TSteps> | string, runId: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult<TSteps>>
  /** Starts a run and waits for its result. */
  run<TInput, TSteps>(
    pipeline: Pipeline<TInput, TSteps>,
    input: TInput,
    options?: { readonly runId?: string; readonly signal?: AbortSignal },
  ): Promise<RunResult<TSteps>>
}

/**
 * A client of pipelines served by `restateEndpoint`, speaking the Restate ingress's HTTP API.
 *
 * @example
 * const client = restateClient({ ingress: "http://127.0.0.1:8080" })
 * const result = await client.run(triage, { ticket: "refund please" })
 */
export const restateClient = (options: RestateClientOptions): RestateClient => {
  const base = options.ingress.replace(/\/+$/, "")
  const nameOf = (pipeline: AnyPipeline | string) => encodeURIComponent(typeof pipeline === "string" ? pipeline : pipeline.id)
  const call = async (path: string, init: { readonly method: "GET" | "POST"; readonly body?: unknown; readonly signal?: AbortSignal }) => {
    let response: Response
    try {
      response = await fetch(`${base}${path}`, {
        method: init.method,
        headers: { ...(init.body === undefined ? {} : { "content-type": "application/json" }), ...options.headers },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      })
    } catch (error) {
      if (init.signal?.aborted === true) throw error
      throw new RestateClientError(`Restate ingress ${base} could not be reached: ${error instanceof Error ? error.message : String(error)}`)
    }
    const text = await response.text()
    const body = text === "" ? undefined : safeJson(text)
    return { status: response.status, ok: response.ok, body, text }
  }
  const client: RestateClient = {
    start: async (pipeline, input, startOptions = {}) => {
      const checked = pipeline.input.safeParse(input)
      if (!checked.success) {
        throw new RangeError(
          `input of pipeline "${pipeline.id}" is invalid: ${checked.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ")}`,
        )
      }
      const runId = startOptions.runId ?? randomUUID()
      const response = await call(`/${nameOf(pipeline)}/${encodeURIComponent(runId)}/run/send`, { method: "POST", body: checked.data })
      if (!response.ok)
        throw new RestateClientError(`starting run ${runId} of "${pipeline.id}" failed: ${response.status} ${messageOf(response)}`, response.status)
      return runId
    },
    decide: async (pipeline, runId, step, decision) => {
      const response = await call(`/${nameOf(pipeline as AnyPipeline | string)}/${encodeURIComponent(runId)}/decide`, {
        method: "POST",
        body: { step, decision },
      })
      if (response.ok) return
      const message = messageOf(response)
      const metadata = metadataOf(response.body)
      if (response.status === 422) throw new DecisionError("invalid-decision", message, parseIssues(metadata["issues"]))
      if (response.status === 409) throw new DecisionError("not-waiting", message)
      if (response.status === 400 || (response.status === 404 && metadata["reason"] === "not-human-step")) throw new DecisionError("not-human-step", message)
      if (response.status === 404) throw new DecisionError("unknown-run", `run ${runId}: ${message}`)
      throw new RestateClientError(`deciding "${step}" of run ${runId} failed: ${response.status} ${message}`, response.status)
    },
    waiting: async (pipeline, runId) => {
      const response = await call(`/${nameOf(pipeline)}/${encodeURIComponent(runId)}/waiting`, { method: "POST", body: null })
      if (!response.ok) throw new RestateClientError(`reading where run ${runId} waits failed: ${response.status} ${messageOf(response)}`, response.status)
      return (response.body ?? null) as RestateWaiting | null
    },
    result: async (pipeline, runId, resultOptions = {}) => {
      const response = await call(`/restate/workflow/${nameOf(pipeline as AnyPipeline | string)}/${encodeURIComponent(runId)}/attach`, {
        method: "GET",
        ...(resultOptions.signal === undefined ? {} : { signal: resultOptions.signal }),
      })
      if (!response.ok) throw new RestateClientError(`waiting for run ${runId} failed: ${response.status} ${messageOf(response)}`, response.status)
      return response.body as never
    },
    run: async (pipeline, input, runOptions = {}) => {
      const runId = await client.start(pipeline, input, runOptions.runId === undefined ? {} : { runId: runOptions.runId })
      return client.result(pipeline, runId, runOptions.signal === undefined ? {} : { signal: runOptions.signal })
    },
  }
  return client
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const messageOf = (response: { readonly body: unknown; readonly text: string }): string =>
  typeof response.body === "object" && response.body !== null && typeof (response.body as { message?: unknown }).message === "string"
    ? (response.body as { message: string }).message
    : response.text.slice(0, 500)

const metadataOf = (body: unknown): Record<string, string> => {
  const metadata = typeof body === "object" && body !== null ? (body as { metadata?: unknown }).metadata : undefined
  return typeof metadata === "object" && metadata !== null ? (metadata as Record<string, string>) : {}
}

const parseIssues = (text: string | undefined): ReadonlyArray<{ readonly path: string; readonly message: string }> => {
  if (text === undefined) return []
  const parsed = safeJson(text)
  return Array.isArray(parsed) ? (parsed as Array<{ path: string; message: string }>) : []
}
