import { hostname } from "node:os"
import type { ClientConfig, Pool } from "pg"
import { messageOf } from "../contract/errors.ts"
import type { RunStatus } from "../contract/events.ts"
import type { RunSummary } from "../contract/journal.ts"
import { type Journal, JournalConflictError, type JournalEntry, type JournalTailOptions, type RunClaim, type TailedEntry } from "../contract/journal.ts"
import { entryOfRow } from "../contract/journal-check.ts"
import { type PayloadCodec, withCodec } from "./codec.ts"
import { type Claim, claimSession, listenForRuns } from "./postgres-connections.ts"
import { channelOf, deadlineAfter, notifies, quoteSchema, statements, statusAfter, tailChannelOf } from "./postgres-schema.ts"
import { postgresTails } from "./postgres-tail.ts"

/**
 * Options of a Postgres journal.
 *
 * @example
 * const options: PostgresJournalOptions = { connectionString: "postgres://switchboard@db.internal/app", schema: "switchboard", pool: { max: 20 } }
 */
export interface PostgresJournalOptions {
  /** Defaults to the `SWITCHBOARD_DATABASE_URL` environment variable. */
  readonly connectionString?: string
  /** The schema holding the `runs` and `journal` tables, created at first use (default `"switchboard"`). */
  readonly schema?: string
  /** The shared pool for appends and reads (default 10 connections); claims never use it. */
  readonly pool?: { readonly max?: number }
  /** How long opening a connection may take before it fails (default 10000 ms). */
  readonly connectTimeoutMs?: number
  /**
   * Server-side TCP keepalive of claim connections: after `idleSeconds` of silence Postgres probes
   * every `intervalSeconds`, and after `count` lost probes drops the connection, releasing the
   * claim of a process whose host died or whose network was cut (default 10, 5, 3: ~25 s).
   */
  readonly keepAlive?: { readonly idleSeconds?: number; readonly intervalSeconds?: number; readonly count?: number }
  /** Encodes (encrypts) every event's payload and snapshot at rest, e.g. `aesGcmCodec(key)`; `encodedJournal` says what stays in clear. */
  readonly codec?: PayloadCodec
}

/**
 * A run as a Postgres journal lists it; `owner` (`host:pid`) is present while a process holds its claim.
 *
 * @example
 * const orphaned = (runs: readonly PostgresRunSummary[]) => runs.filter((run) => run.status === "running" && run.owner === undefined)
 */
export interface PostgresRunSummary extends RunSummary {
  readonly owner?: string
}

/**
 * A claim on a Postgres run: a session advisory lock on the journal's claim connection.
 *
 * @example
 * const execute = async (claim: PostgresRunClaim) => { claim.signal.addEventListener("abort", () => console.warn("claim lost")) }
 */
export interface PostgresRunClaim extends RunClaim {
  /** Aborted if the claim's connection is lost: Postgres has then freed the lock, stop executing. */
  readonly signal: AbortSignal
}

/**
 * A journal in Postgres, shared by any number of processes.
 *
 * @example
 * const journal: PostgresJournal = postgresJournal({ schema: "switchboard" })
 * await journal.close()
 */
export interface PostgresJournal extends Journal {
  readonly schema: string
  /** The channel NOTIFY'd (payload: the run id) when a run starts, a human decision arrives, or a run starts waiting with a deadline. */
  readonly channel: string
  append(entry: JournalEntry): Promise<void>
  saveSnapshot(runId: string, snapshot: unknown): Promise<void>
  claim(runId: string): Promise<PostgresRunClaim | undefined>
  /** Follows the journal (see {@link Journal.tail}), woken by a NOTIFY on `<schema>_tail` at every append (and a read each second as a backstop). */
  tail(options?: JournalTailOptions): AsyncIterable<TailedEntry>
  /**
   * Calls `onRunnable(runId)` when a run starts, a human decision arrives, or a run starts waiting
   * with a deadline (a worker arms its timer for it), from any process, on a
   * connection of its own (reconnected after a second if it drops; NOTIFYs sent meanwhile are lost,
   * so keep polling `runs()` as a backstop). Resolves once listening, with the function that stops.
   */
  listen(onRunnable: (runId: string) => void): Promise<() => Promise<void>>
  /**
   * Runs, most recently updated first, optionally only those with the given status(es), or only
   * those waiting on a deadline due by `dueBy` (epoch ms; served by the `runs_by_deadline` index).
   */
  runs(filter?: { readonly status?: RunStatus | readonly RunStatus[]; readonly dueBy?: number }): Promise<readonly PostgresRunSummary[]>
  /** Releases this journal's claims and closes its connections; the journal cannot be used afterwards. */
  close(): Promise<void>
}

type Pg = typeof import("pg")

// Loaded on first use, so importing switchboard never loads pg (an optional peer dependency).
const loadPg = async (): Promise<Pg> => {
  try {
    const module = (await import("pg")) as Pg & { default?: Pg }
    return module.default ?? module
  } catch (error) {
    throw new Error(`postgresJournal needs the "pg" package: npm install pg (${error instanceof Error ? error.message : String(error)})`)
  }
}

/**
 * A journal in Postgres (`pg`): runs survive any process, several processes share them, and
 * `claim(runId)` lets exactly one of them execute a run at a time. Tables are created at first use.
 *
 * Workers learn about new and decided runs without polling through `listen(onRunnable)`, which
 * LISTENs on {@link PostgresJournal.channel} (`switchboard_runs` for the default schema; each
 * NOTIFY's payload is a run id) on a connection of its own; any Postgres client can LISTEN there
 * too. Keep a slow poll of `runs()` as a backstop: a NOTIFY sent while nobody listens is lost.
 *
 * A claim is a session-level `pg_try_advisory_lock` on the journal's dedicated claim connection
 * (one per journal, holding all its claims; never a pooled connection, and never through a
 * transaction-pooling proxy such as PgBouncer in transaction mode):
 * when the process or its connection dies, Postgres frees the lock. Across a network, dead peers
 * are noticed through TCP keepalive: claim sessions set `tcp_keepalives_idle/interval/count` (see
 * `keepAlive`; the server's `tcp_keepalives_*` settings in postgresql.conf apply to every
 * session), and every connection enables client-side `keepAlive` so this process notices a dead server.
 *
 * @example
 * const journal = postgresJournal({ connectionString: process.env.DATABASE_URL })
 * const paused = await triage.run({ ticket }, { models, journal })
 * // later, in any process on the same database:
 * await triage.decide(paused.runId, "review", { approve: true }, { models, journal: postgresJournal() })
 */
export const postgresJournal = (options: PostgresJournalOptions = {}): PostgresJournal => {
  const connectionString = options.connectionString ?? process.env.SWITCHBOARD_DATABASE_URL
  if (connectionString === undefined || connectionString === "") {
    throw new Error("postgresJournal needs a connection string: pass { connectionString } or set SWITCHBOARD_DATABASE_URL")
  }
  const schema = options.schema ?? "switchboard"
  quoteSchema(schema)
  const sql = statements(schema)
  const channel = channelOf(schema)
  const owner = `${hostname()}:${process.pid}`
  const keepAlive = { idleSeconds: 10, intervalSeconds: 5, count: 3, ...options.keepAlive }
  const connection: ClientConfig = {
    connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: keepAlive.idleSeconds * 1000,
  }
  const claims = new Map<string, Set<Claim>>()
  let sessions: ReturnType<typeof claimSession> | undefined
  const listeners = new Set<() => Promise<void>>()
  let opening: Promise<{ pg: Pg; pool: Pool }> | undefined
  let closed = false

  const open = () => {
    if (closed) return Promise.reject(new Error(`postgresJournal (schema ${schema}) is closed`))
    opening ??= prepare(connection, options.pool?.max, sql, schema).catch((error: unknown) => {
      // Not cached: the next call tries again (the server may be starting).
      opening = undefined
      throw error
    })
    return opening
  }
  const query = async (text: string, values: unknown[]) => (await open()).pool.query(text, values)
  const tails = postgresTails({
    query,
    tailRun: sql.tailRun,
    tailAll: sql.tailAll,
    listen: async (onPayload) => {
      const { pg } = await open()
      return listenForRuns(
        () => new pg.Client({ ...connection, application_name: "switchboard tail" }),
        tailChannelOf(schema),
        onPayload,
        () => {},
      )
    },
  })

  // The events go in only at the run's next seq, all or none, in one statement (see appendBatch).
  const appendMany = async (entries: readonly JournalEntry[]): Promise<void> => {
    const first = entries[0]
    if (first === undefined) return
    const runId = first.runId
    entries.forEach((entry, index) => {
      if (entry.runId !== runId || entry.seq !== first.seq + index) {
        throw new Error(`journal for run ${runId}: a batch holds consecutive events of one run; entry ${index} is run ${entry.runId} seq ${entry.seq}`)
      }
    })
    const json = entries.map((entry) => {
      const { type: _type, runId: _runId, at: _at, seq: _seq, ...data } = entry
      return serialize(entry, data)
    })
    const lifecycle = entries.findLast((entry) => statusAfter(entry.type, (entry as { status?: unknown }).status) !== null)
    const pipeline = entries.find((entry) => entry.type === "run.started")
    const claimed = claims.get(runId)?.size ? owner : null
    const last = first.seq + entries.length - 1
    let row
    try {
      const result = await query(sql.appendBatch, [
        runId,
        entries.map((entry) => entry.seq),
        entries.map((entry) => entry.type),
        entries.map((entry) => entry.at),
        json,
        lifecycle === undefined ? null : statusAfter(lifecycle.type, (lifecycle as { status?: unknown }).status),
        pipeline?.type === "run.started" ? pipeline.pipeline : null,
        claimed,
        channel,
        entries.some((entry) => notifies(entry.type, (entry as { deadline?: unknown }).deadline)),
        lifecycle?.at ?? first.at,
        lifecycle === undefined ? null : deadlineAfter(lifecycle.type, (lifecycle as { deadline?: unknown }).deadline),
      ])
      row = result.rows[0] as { written: number; next: number }
    } catch (error) {
      if (codeOf(error) === "23505") throw new JournalConflictError(runId, first.seq)
      const events = entries.length === 1 ? `event ${first.seq} (${first.type})` : `events ${first.seq}–${last}`
      if (codeOf(error)?.startsWith("22")) throw new Error(`journal for run ${runId}: ${events} cannot be stored: ${messageOf(error)}`)
      throw error
    }
    if (row.written === entries.length) return
    if (first.seq < row.next) throw new JournalConflictError(runId, first.seq, `next is ${row.next}`)
    throw new Error(`journal for run ${runId}: expected seq ${row.next}, got ${first.seq}`)
  }

  return withCodec<PostgresJournal>(options.codec, {
    label: `postgres (schema ${schema})`,
    schema,
    channel,
    // One event is a batch of one: the same statement, the same checks.
    append: (entry) => appendMany([entry]),
    appendMany,
    read: async (runId) =>
      (await query(sql.read, [runId])).rows.map((row: { seq: number; type: string; at: string; data: unknown }) =>
        entryOfRow(runId, { seq: row.seq, type: row.type, at: Number(row.at), data: row.data }),
      ),
    async saveSnapshot(runId, snapshot) {
      await query(sql.saveSnapshot, [runId, Date.now(), JSON.stringify(snapshot) ?? null])
    },
    loadSnapshot: async (runId) => (await query(sql.loadSnapshot, [runId])).rows[0]?.snapshot ?? undefined,
    tail: tails.tail,
    async claim(runId) {
      const { pg } = await open()
      // Session locks are re-entrant within a session: this process refuses a run it already holds
      // (or is claiming) here, as Postgres refuses it to every other session.
      if (claims.has(runId)) return undefined
      const held = new Set<Claim>()
      claims.set(runId, held)
      const forget = () => {
        if (claims.get(runId) === held) claims.delete(runId)
      }
      let claim: Claim | undefined
      try {
        sessions ??= claimSession(() => new pg.Client({ ...connection, application_name: "switchboard claim" }))
        claim = await sessions.hold(
          async (client) =>
            (await client.query(sql.claim, [schema, runId, owner, keepAlive.idleSeconds, keepAlive.intervalSeconds, keepAlive.count])).rows[0]?.locked === true,
          (client) => client.query(sql.release, [schema, runId, owner]),
          forget,
        )
      } catch (error) {
        forget()
        throw error
      }
      if (claim === undefined) {
        forget()
        return undefined
      }
      if (closed) {
        await claim.release()
        throw new Error(`postgresJournal (schema ${schema}) is closed`)
      }
      held.add(claim)
      return { signal: claim.lost, release: claim.release }
    },
    async listen(onRunnable) {
      const { pg } = await open()
      const stop = await listenForRuns(
        () => new pg.Client({ ...connection, application_name: "switchboard listen" }),
        channel,
        onRunnable,
        () => listeners.delete(stop),
      )
      if (closed) await stop()
      else listeners.add(stop)
      return stop
    },
    async runs(filter = {}) {
      const status = filter.status === undefined ? null : typeof filter.status === "string" ? [filter.status] : [...filter.status]
      const { rows } = await query(sql.runs, [schema, status, filter.dueBy === undefined ? null : Math.floor(filter.dueBy)])
      return rows.map((row: { run_id: string; pipeline: string; status: RunStatus; updated_at: string; deadline: string | null; owner: string | null }) => ({
        runId: row.run_id,
        pipeline: row.pipeline,
        status: row.status,
        updatedAt: Number(row.updated_at),
        ...(row.deadline === null || row.deadline === undefined ? {} : { deadline: Number(row.deadline) }),
        ...(row.owner === null ? {} : { owner: row.owner }),
      }))
    },
    async close() {
      if (closed) return
      closed = true
      const pending = opening
      await tails.close()
      await Promise.all([...[...claims.values()].flatMap((held) => [...held].map((claim) => claim.release())), ...[...listeners].map((stop) => stop())])
      await sessions?.close()
      const ready = await pending?.catch(() => undefined)
      await ready?.pool.end()
    },
  })
}

const prepare = async (connection: ClientConfig, max: number | undefined, sql: ReturnType<typeof statements>, schema: string) => {
  const pg = await loadPg()
  const pool = new pg.Pool({ ...connection, application_name: "switchboard", ...(max === undefined ? {} : { max }) })
  // An idle pooled connection that drops (server restart) is replaced on the next query; without
  // a listener the pool's "error" event would crash the process.
  pool.on("error", () => {})
  try {
    const ready = (await pool.query(sql.ready)).rows[0]?.ready === true
    if (!ready) {
      const client = await pool.connect()
      try {
        await client.query(sql.migrate)
      } catch (error) {
        // A failed migration leaves its transaction open: drop that connection instead of reusing it.
        client.release(true)
        throw error
      }
      client.release()
    }
  } catch (error) {
    await pool.end().catch(() => {})
    throw new Error(`postgresJournal: cannot prepare schema "${schema}" on ${describeTarget(connection.connectionString)}: ${messageOf(error)}`, {
      cause: error,
    })
  }
  return { pg, pool }
}

// Names the server without its password.
const describeTarget = (connectionString: string | undefined): string => {
  try {
    const url = new URL(connectionString ?? "")
    return `${url.hostname}${url.port === "" ? "" : `:${url.port}`}${url.pathname}`
  } catch {
    return "the configured database"
  }
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : undefined

const serialize = (entry: JournalEntry, data: object): string => {
  try {
    return JSON.stringify(data)
  } catch (error) {
    throw new Error(`journal for run ${entry.runId}: event ${entry.seq} (${entry.type}) is not JSON: ${messageOf(error)}`)
  }
}
