// The SQL of the Postgres journal, for one schema. Kept apart from the journal so the statements
// can be read (and reviewed) together.

/** A schema name the journal accepts: a plain lower-case identifier, so quoting never matters. */
const identifier = /^[a-z_][a-z0-9_]{0,57}$/

/** Checks a schema name; returns it double-quoted for SQL. */
export const quoteSchema = (schema: string): string => {
  // 58 characters leave room for the "_runs" of the notification channel (identifiers have 63).
  if (!identifier.test(schema))
    throw new Error(`postgresJournal: schema must be a lower-case SQL identifier of at most 58 characters ([a-z_][a-z0-9_]*), got ${JSON.stringify(schema)}`)
  return `"${schema}"`
}

/** The NOTIFY channel of a schema: `switchboard_runs` for the default schema. */
export const channelOf = (schema: string): string => `${schema}_runs`

/** The channel NOTIFY'd (payload: the run id) at every append, for tails: `switchboard_tail` for the default schema. */
export const tailChannelOf = (schema: string): string => `${schema}_tail`

/**
 * The advisory-lock key of a run, a bigint from the schema and the run id ($1, $2). 64 bits make
 * two live runs sharing a key (which would only make a claim wait its turn) vanishingly unlikely.
 */
const claimKey = (schemaParameter: string, runParameter: string) => `hashtextextended(${schemaParameter} || ':' || ${runParameter}, 0)`

/** Lifecycle events keep `runs.status` current; everything else only goes into the journal. */
export const statusAfter = (type: string, finishedStatus: unknown): string | null => {
  if (type === "run.started" || type === "human.decided" || type === "human.expired") return "running"
  if (type === "human.waiting") return "awaiting-human"
  if (type === "run.finished") return String(finishedStatus)
  return null
}

/**
 * Events a worker wants to hear about: a new run, a run whose human decision arrived, and a run
 * that now waits with a deadline (so a worker arms its timer without waiting for its next poll).
 */
export const notifies = (type: string, deadline?: unknown): boolean =>
  type === "run.started" || type === "human.decided" || (type === "human.waiting" && deadline !== undefined)

/** The `runs.deadline` a lifecycle event leaves: a wait's deadline (a whole millisecond, rounded up), else none. */
export const deadlineAfter = (type: string, deadline: unknown): number | null =>
  type === "human.waiting" && typeof deadline === "number" && Number.isFinite(deadline) ? Math.ceil(deadline) : null

/** All statements of one schema. */
export const statements = (schema: string) => {
  const quoted = quoteSchema(schema)
  const runs = `${quoted}.runs`
  const journal = `${quoted}.journal`
  return {
    /** True when the tables exist, so a process without CREATE rights can use a prepared schema. */
    ready: `SELECT to_regclass('${quoted}.runs') IS NOT NULL AND to_regclass('${quoted}.journal') IS NOT NULL
      AND to_regclass('${quoted}.runs_by_status') IS NOT NULL AND to_regclass('${quoted}.runs_by_deadline') IS NOT NULL
      AND to_regclass('${quoted}.journal_by_position') IS NOT NULL AS ready`,
    // Payloads are `json`, not `jsonb`: a journal gives back exactly what was written (jsonb would
    // sort object keys, changing a resumed run's outputs, and refuse "\u0000"); nothing queries inside them.
    // One simple-protocol string: a transaction whose advisory lock makes two processes that start
    // together create the schema one after the other (IF NOT EXISTS alone races on the catalogs).
    migrate: `
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('switchboard.schema'), hashtext('${schema}'));
CREATE SCHEMA IF NOT EXISTS ${quoted};
CREATE TABLE IF NOT EXISTS ${runs} (
  run_id text PRIMARY KEY,
  pipeline text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'running',
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  snapshot json,
  owner text,
  deadline bigint
);
CREATE TABLE IF NOT EXISTS ${journal} (
  run_id text NOT NULL,
  seq integer NOT NULL,
  type text NOT NULL,
  at bigint NOT NULL,
  data json NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS runs_by_status ON ${runs} (status, updated_at);
-- A schema made before runs had a deadline gets the column; CREATE TABLE IF NOT EXISTS adds none.
ALTER TABLE ${runs} ADD COLUMN IF NOT EXISTS deadline bigint;
UPDATE ${runs} AS run SET deadline = ceil((
  SELECT (entry.data->>'deadline')::float8 FROM ${journal} AS entry
  WHERE entry.run_id = run.run_id AND entry.type = 'human.waiting' ORDER BY entry.seq DESC LIMIT 1
))::bigint WHERE run.status = 'awaiting-human' AND run.deadline IS NULL;
CREATE INDEX IF NOT EXISTS runs_by_deadline ON ${runs} (deadline) WHERE deadline IS NOT NULL;
-- The journal-wide cursor of tails: appends take it in commit order (see appendBatch).
ALTER TABLE ${journal} ADD COLUMN IF NOT EXISTS position bigserial;
CREATE INDEX IF NOT EXISTS journal_by_position ON ${journal} (position);
COMMIT;`,
    // Consecutive events of one run (one, or a batch) in one statement: one round trip, one
    // commit, all or none. The rows go in only if the first seq is the run's next (a repeat or a
    // gap writes nothing; the primary key refuses the loser of a race). The run row takes the
    // last lifecycle status ($6, at $11) and the deadline it leaves ($12) in the same transaction, and one NOTIFY goes out when it
    // commits if any event asks for it. `next` is read from the snapshot before the insert, so a
    // refused append can say what was expected. Positions are drawn under a transaction lock held
    // until commit, so they commit in order and a tail never passes one that commits later; every
    // append NOTIFYs the tail channel.
    appendBatch: `
WITH batch AS (
  SELECT * FROM unnest($2::integer[], $3::text[], $4::bigint[], $5::text[]) AS entry(seq, type, at, data)
), ordered AS MATERIALIZED (
  SELECT pg_advisory_xact_lock(hashtext('switchboard.journal'), hashtext('${schema}')) AS locked
), inserted AS (
  INSERT INTO ${journal} (run_id, seq, type, at, data)
  SELECT $1, seq, type, at, data::json FROM batch CROSS JOIN ordered
  WHERE ($2::integer[])[1] = (SELECT coalesce(max(seq) + 1, 0) FROM ${journal} WHERE run_id = $1)
  RETURNING run_id
), lifecycle AS (
  INSERT INTO ${runs} AS run (run_id, pipeline, status, created_at, updated_at, owner, deadline)
  SELECT $1, coalesce($7::text, ''), $6::text, $11, $11, $8::text, $12::bigint WHERE $6::text IS NOT NULL AND EXISTS (SELECT 1 FROM inserted)
  ON CONFLICT (run_id) DO UPDATE SET
    pipeline = coalesce($7::text, run.pipeline),
    status = excluded.status,
    updated_at = greatest(run.updated_at, excluded.updated_at),
    owner = coalesce(excluded.owner, run.owner),
    deadline = excluded.deadline
  RETURNING 1
), notified AS (
  SELECT pg_notify($9::text, $1) WHERE $10::boolean AND EXISTS (SELECT 1 FROM inserted)
), tailed AS (
  SELECT pg_notify('${tailChannelOf(schema)}', $1) WHERE EXISTS (SELECT 1 FROM inserted)
)
SELECT (SELECT count(*) FROM inserted)::integer AS written,
  (SELECT count(*) FROM tailed)::integer AS tailed,
  (SELECT count(*) FROM lifecycle)::integer AS lifecycle,
  (SELECT count(*) FROM notified)::integer AS notified,
  (SELECT coalesce(max(seq) + 1, 0) FROM ${journal} WHERE run_id = $1)::integer AS next`,
    read: `SELECT seq, type, at, data FROM ${journal} WHERE run_id = $1 ORDER BY seq`,
    tailRun: `SELECT seq, type, at, data, position FROM ${journal} WHERE run_id = $1 AND seq > $2 AND position > $3 ORDER BY seq LIMIT $4`,
    tailAll: `SELECT run_id, seq, type, at, data, position FROM ${journal} WHERE position > $1 ORDER BY position LIMIT $2`,
    saveSnapshot: `
INSERT INTO ${runs} AS run (run_id, created_at, updated_at, snapshot) VALUES ($1, $2, $2, $3::json)
ON CONFLICT (run_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = greatest(run.updated_at, excluded.updated_at)`,
    loadSnapshot: `SELECT snapshot FROM ${runs} WHERE run_id = $1`,
    // The owner is reported only while its lock is held: a dead process's stale owner is not.
    // pg_locks shows a bigint advisory key as two unsigned 32-bit halves (classid, objid).
    runs: `
WITH held AS MATERIALIZED (
  SELECT (classid::bigint << 32) | objid::bigint AS key FROM pg_locks
  WHERE locktype = 'advisory' AND granted AND objsubid = 1
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT run.run_id, run.pipeline, run.status, run.updated_at, run.deadline, CASE WHEN held.key IS NULL THEN NULL ELSE run.owner END AS owner
FROM ${runs} AS run LEFT JOIN held ON held.key = ${claimKey("$1::text", "run.run_id")}
WHERE ($2::text[] IS NULL OR run.status = ANY($2::text[])) AND ($3::bigint IS NULL OR run.deadline <= $3::bigint)
ORDER BY run.updated_at DESC, run.run_id`,
    // The lock is taken, and the owner recorded, in one statement on the claim's own connection.
    // Server-side keepalives (settable per session) make Postgres notice a vanished peer and free
    // the lock even when no FIN/RST ever arrives (a host that lost power, a cut network).
    claim: `
WITH settings AS MATERIALIZED (
  SELECT set_config('tcp_keepalives_idle', $4::text, false), set_config('tcp_keepalives_interval', $5::text, false),
    set_config('tcp_keepalives_count', $6::text, false)
), lock AS MATERIALIZED (
  SELECT pg_try_advisory_lock(${claimKey("$1::text", "$2::text")}) AS locked FROM settings
), owned AS (
  UPDATE ${runs} SET owner = $3 WHERE run_id = $2 AND (SELECT locked FROM lock) RETURNING 1
)
SELECT locked, (SELECT count(*) FROM owned)::integer AS owned FROM lock`,
    release: `
WITH disowned AS (UPDATE ${runs} SET owner = NULL WHERE run_id = $2 AND owner = $3 RETURNING 1)
SELECT pg_advisory_unlock(${claimKey("$1::text", "$2::text")}) AS unlocked, (SELECT count(*) FROM disowned)::integer AS disowned`,
  }
}
