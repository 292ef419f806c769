// The studio's HTTP surface: a JSON API over a journal, a live event stream per run (SSE from the
// journal's cursor), decisions delivered through the pipeline's own `decide`, and the page.
import { Hono } from "hono"
import { streamSSE } from "hono/streaming"
import type { RunStatus } from "../contract/events.ts"
import type { Journal, JournalEntry, RunSummary } from "../contract/journal.ts"
import { checkJournal } from "../contract/journal-check.ts"
import type { Models } from "../contract/model.ts"
import { redactor } from "../contract/redaction.ts"
import { chartSvg } from "../observe/diagram/html.ts"
import { traceOf } from "../observe/diagram/run-trace.ts"
import type { Pipeline } from "../run/create-runner.ts"
import { stepAt } from "../run/decisions.ts"
import { DecisionError } from "../run/result.ts"
import { studioPage } from "./page.ts"
import { decisionSchemaOf, openWaitsOf, runRowOf } from "./run-views.ts"

/**
 * A journal the studio can serve: it lists its runs and follows them with `tail`.
 *
 * @example
 * const journal: StudioJournal = sqliteJournal({ path: ".switchboard/runs.db" })
 */
export interface StudioJournal extends Journal {
  runs(): readonly RunSummary[] | Promise<readonly RunSummary[]>
}

/**
 * A pipeline the studio can draw and decide for, with the models its continued runs use.
 *
 * @example
 * const served: StudioPipeline = { pipeline: triage, models }
 */
export interface StudioPipeline {
  readonly pipeline: Pipeline<unknown, Record<string, unknown>>
  readonly models: Models
}

/**
 * Options of {@link studioApp}.
 *
 * @example
 * const options: StudioOptions = { journal, pipelines: [{ pipeline: triage, models }] }
 */
export interface StudioOptions {
  readonly journal: StudioJournal
  readonly pipelines: readonly StudioPipeline[]
  /** Required on every request when set (`Authorization: Bearer …`, `?token=…` once, then a cookie). */
  readonly token?: string
  readonly now?: () => number
  /** Where a continued run's failure to start is told (default: nowhere; the journal has the run). */
  readonly onError?: (message: string) => void
}

const statuses: ReadonlySet<string> = new Set(["running", "awaiting-human", "done", "failed", "stopped"])
const cookieName = "switchboard_studio"

/**
 * The studio as a Hono app (serve it with `@hono/node-server`, or call `app.fetch(request)`).
 *
 * @example
 * const app = studioApp({ journal, pipelines: [{ pipeline: triage, models }] })
 * const response = await app.fetch(new Request("http://studio/api/runs?status=awaiting-human"))
 */
export const studioApp = (options: StudioOptions): Hono => {
  const { journal } = options
  const now = options.now ?? Date.now
  const byId = new Map(options.pipelines.map((served) => [served.pipeline.id, served]))
  // Shown as observers see a run: secret-looking fields masked, inputs and outputs included.
  const show = redactor(undefined)
  const read = async (runId: string): Promise<readonly JournalEntry[]> =>
    checkJournal(runId, await journal.read(runId)).map((entry) => ({ ...show.full(entry), seq: entry.seq }) as JournalEntry)
  const summaries = async () => [...(await journal.runs())]
  const app = new Hono()

  if (options.token !== undefined) {
    const token = options.token
    app.use("*", async (c, next) => {
      const given = c.req.header("authorization")?.replace(/^Bearer\s+/i, "") ?? c.req.query("token") ?? cookieOf(c.req.header("cookie"))
      if (given !== token) return c.json({ error: "this studio needs its token: open the URL printed at its start, or send Authorization: Bearer TOKEN" }, 401)
      if (c.req.query("token") !== undefined) c.header("set-cookie", `${cookieName}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      await next()
    })
  }

  app.get("/api/runs", async (c) => {
    const wanted = (c.req.query("status") ?? "").split(",").filter((status) => status !== "")
    const unknown = wanted.filter((status) => !statuses.has(status))
    if (unknown.length > 0) return c.json({ error: `unknown status ${unknown.join(", ")}: use ${[...statuses].join(", ")}` }, 400)
    const offset = integer(c.req.query("offset"), 0)
    const limit = Math.min(200, Math.max(1, integer(c.req.query("limit"), 50)))
    const search = (c.req.query("q") ?? "").trim()
    const matching = (await summaries()).filter(
      (run) => (wanted.length === 0 || wanted.includes(run.status)) && (search === "" || run.runId.includes(search) || run.pipeline.includes(search)),
    )
    const page = matching.slice(offset, offset + limit)
    const rows = await Promise.all(page.map(async (run) => runRowOf(run, await read(run.runId), now())))
    return c.json({ total: matching.length, offset, limit, runs: rows })
  })

  app.get("/api/runs/:id", async (c) => {
    const runId = c.req.param("id")
    const entries = await read(runId)
    if (entries.length === 0) return c.json({ error: `no run "${runId}" in ${journal.label ?? "the journal"}` }, 404)
    const summary = (await summaries()).find((run) => run.runId === runId) ?? fallbackSummary(runId, entries)
    const served = byId.get(summary.pipeline)
    const trace = traceOf(entries)
    return c.json({
      run: runRowOf(summary, entries, now()),
      visits: trace.visits,
      waits: openWaitsOf(entries).map((wait) => ({
        ...wait,
        schema: served === undefined ? undefined : decisionSchemaOf(stepAt({ steps: served.pipeline.definitions }, wait.step)),
      })),
      chart: served === undefined ? undefined : chartSvg(served.pipeline, { run: entries }),
      entries,
    })
  })

  app.get("/api/runs/:id/events", async (c) => {
    const runId = c.req.param("id")
    if ((await journal.read(runId)).length === 0) return c.json({ error: `no run "${runId}"` }, 404)
    if (journal.tail === undefined) return c.json({ error: `${journal.label ?? "this journal"} cannot be followed (it has no tail)` }, 501)
    const tail = journal.tail.bind(journal)
    const after = integer(c.req.header("last-event-id") ?? c.req.query("after"), -1)
    return streamSSE(c, async (stream) => {
      const stop = new AbortController()
      stream.onAbort(() => stop.abort())
      c.req.raw.signal.addEventListener("abort", () => stop.abort())
      try {
        for await (const entry of tail({ runId, afterSeq: Math.max(-1, after), signal: stop.signal })) {
          await stream.writeSSE({ id: String(entry.seq), event: "entry", data: JSON.stringify({ ...show.full(entry), seq: entry.seq }) })
        }
      } catch (error) {
        if (!stop.signal.aborted)
          await stream.writeSSE({ event: "failed", data: JSON.stringify({ error: error instanceof Error ? error.message : String(error) }) })
      }
    })
  })

  app.get("/api/pending", async (c) => {
    const waiting = (await summaries()).filter((run) => run.status === "awaiting-human")
    const waits = await Promise.all(
      waiting.map(async (run) => {
        const served = byId.get(run.pipeline)
        return openWaitsOf(await read(run.runId)).map((wait) => ({
          ...wait,
          pipeline: run.pipeline,
          schema: served === undefined ? undefined : decisionSchemaOf(stepAt({ steps: served.pipeline.definitions }, wait.step)),
        }))
      }),
    )
    return c.json({ waits: waits.flat() })
  })

  app.post("/api/runs/:id/decisions", async (c) => {
    const runId = c.req.param("id")
    const entries = await read(runId)
    if (entries.length === 0) return c.json({ error: `no run "${runId}"` }, 404)
    const body = (await c.req.json().catch(() => undefined)) as { step?: unknown; decision?: unknown } | undefined
    if (typeof body?.step !== "string") return c.json({ error: 'send { "step": "<the step waiting>", "decision": { … } }' }, 400)
    const started = entries.find((entry) => entry.type === "run.started")
    const served = started?.type === "run.started" ? byId.get(started.pipeline) : undefined
    if (served === undefined) return c.json({ error: `run "${runId}" is of a pipeline this studio was not started with; pass its file` }, 409)
    const step = body.step
    const outcome = await continued(
      journal,
      runId,
      entries.at(-1)?.seq ?? -1,
      (entry) => entry.type === "human.decided" && entry.step === step,
      () => served.pipeline.decide(runId, step, body.decision as never, { models: served.models, journal }),
      options.onError,
    )
    if (outcome === "accepted") return c.json({ accepted: true }, 202)
    if (outcome instanceof DecisionError) {
      return c.json({ error: outcome.message, reason: outcome.reason, issues: outcome.issues }, outcome.reason === "invalid-decision" ? 422 : 409)
    }
    return c.json({ error: outcome.message }, 409)
  })

  app.post("/api/runs/:id/retry", async (c) => {
    const runId = c.req.param("id")
    const entries = await read(runId)
    if (entries.length === 0) return c.json({ error: `no run "${runId}"` }, 404)
    const started = entries.find((entry) => entry.type === "run.started")
    const served = started?.type === "run.started" ? byId.get(started.pipeline) : undefined
    if (served === undefined) return c.json({ error: `run "${runId}" is of a pipeline this studio was not started with; pass its file` }, 409)
    const outcome = await continued(
      journal,
      runId,
      entries.at(-1)?.seq ?? -1,
      (entry) => entry.type === "run.retried",
      () => served.pipeline.retry(runId, { models: served.models, journal }),
      options.onError,
    )
    return outcome === "accepted" ? c.json({ accepted: true }, 202) : c.json({ error: outcome.message }, 409)
  })

  app.get("/", (c) => c.html(studioPage()))
  app.get("/inbox", (c) => c.html(studioPage()))
  app.get("/runs/:id", async (c) => {
    const found = (await journal.read(c.req.param("id"))).length > 0
    return c.html(studioPage(), found ? 200 : 404)
  })
  app.notFound((c) => (c.req.path.startsWith("/api/") ? c.json({ error: `no such endpoint ${c.req.method} ${c.req.path}` }, 404) : c.html(studioPage(), 404)))
  return app
}

/**
 * Continues a run (a decision, a retry) and answers as soon as the outcome is known: refused (the
 * call threw before writing anything) or accepted (the journal shows the entry `accepted` looks
 * for); the run then goes on in this process, in the background, its later failure told to `onError`.
 */
const continued = async (
  journal: StudioJournal,
  runId: string,
  lastSeq: number,
  accepted: (entry: JournalEntry) => boolean,
  start: () => Promise<unknown>,
  onError: ((message: string) => void) | undefined,
): Promise<"accepted" | Error> => {
  const stop = new AbortController()
  const seen = (async () => {
    if (journal.tail === undefined) return "unknown" as const
    for await (const entry of journal.tail({ runId, afterSeq: lastSeq, signal: stop.signal })) if (accepted(entry)) return "accepted" as const
    return "unknown" as const
  })()
  let written = false
  const outcome = start().then(
    () => "accepted" as const,
    (error: unknown) => {
      if (written) onError?.(`run ${runId}: ${error instanceof Error ? error.message : String(error)}`)
      return error instanceof Error ? error : new Error(String(error))
    },
  )
  try {
    const first = await Promise.race([seen.then((saw) => (saw === "accepted" ? saw : outcome)), outcome])
    written = first === "accepted"
    return first
  } finally {
    stop.abort()
    await seen.catch(() => undefined)
  }
}

const fallbackSummary = (runId: string, entries: readonly JournalEntry[]): RunSummary => {
  const started = entries.find((entry) => entry.type === "run.started")
  const finished = entries.findLast((entry) => entry.type === "run.finished")
  const status: RunStatus = finished?.type === "run.finished" ? finished.status : openWaitsOf(entries).length > 0 ? "awaiting-human" : "running"
  return { runId, pipeline: started?.type === "run.started" ? started.pipeline : "", status, updatedAt: entries.at(-1)?.at ?? 0 }
}

const integer = (text: string | undefined, fallback: number): number => {
  const value = Number(text)
  return text !== undefined && text !== "" && Number.isInteger(value) ? value : fallback
}

const cookieOf = (header: string | undefined): string | undefined => {
  const match = header
    ?.split(";")
    .map((part) => part.trim().split("="))
    .find(([name]) => name === cookieName)
  return match?.[1] === undefined ? undefined : decodeURIComponent(match[1])
}
