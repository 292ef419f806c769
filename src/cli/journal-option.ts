import { messageOf } from "../contract/errors.ts"
import type { Journal, RunSummary } from "../contract/journal.ts"
import { aesGcmCodec } from "../stores/aes-gcm-codec.ts"
import type { PayloadCodec } from "../stores/codec.ts"
import { memoryJournal } from "../stores/memory-journal.ts"
// pg itself is loaded only when a Postgres journal first connects.
import { type PostgresRunSummary, postgresJournal } from "../stores/postgres-journal.ts"
import { sqliteJournal } from "../stores/sqlite-journal.ts"
import { UsageError } from "./load-pipeline.ts"

/**
 * A parsed `--journal` value: `memory`, `sqlite:PATH` or `postgres:URL[#schema]` (an empty URL
 * means `SWITCHBOARD_DATABASE_URL`).
 *
 * @example
 * const spec: JournalSpec = { kind: "postgres", connectionString: "postgres://app@db/app", schema: "switchboard" }
 */
export type JournalSpec =
  | { readonly kind: "memory" }
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly connectionString: string | undefined; readonly schema: string | undefined }

/**
 * The journal the CLI uses when neither `--journal` nor `SWITCHBOARD_JOURNAL` names one: a SQLite
 * file under the current directory, so `switchboard run` then `switchboard show <id>` finds the run.
 *
 * @example
 * defaultJournal // "sqlite:.switchboard/runs.db"
 */
export const defaultJournal = "sqlite:.switchboard/runs.db"

/**
 * The environment variable naming the journal when `--journal` is not given.
 *
 * @example
 * // SWITCHBOARD_JOURNAL=postgres:postgres://app@db/app switchboard runs
 */
export const journalVariable = "SWITCHBOARD_JOURNAL"

/**
 * The journal a command uses: its `--journal` flag, else `SWITCHBOARD_JOURNAL`, else
 * {@link defaultJournal}.
 *
 * @example
 * resolveJournal(undefined, {}) // "sqlite:.switchboard/runs.db"
 * resolveJournal(undefined, { SWITCHBOARD_JOURNAL: "sqlite:/var/lib/runs.db" }) // "sqlite:/var/lib/runs.db"
 */
export const resolveJournal = (flag: string | undefined, environment: Readonly<Record<string, string | undefined>> = process.env): string => {
  if (flag !== undefined) return flag
  const named = environment[journalVariable]?.trim() ?? ""
  return named === "" ? defaultJournal : named
}

/** What `--help` says a `--journal` value may be. */
export const journalForms = "memory, sqlite:PATH or postgres:URL[#schema]"

/**
 * Parses a `--journal` value; anything else is a usage error.
 *
 * @example
 * parseJournal("postgres:postgres://app@db:5432/app#billing") // { kind: "postgres", connectionString: "postgres://app@db:5432/app", schema: "billing" }
 */
export const parseJournal = (value = "memory"): JournalSpec => {
  if (value === "memory") return { kind: "memory" }
  if (value.startsWith("sqlite:") && value.length > "sqlite:".length) return { kind: "sqlite", path: value.slice("sqlite:".length) }
  if (value.startsWith("postgres:")) {
    const rest = value.slice("postgres:".length)
    // A URL has no use for a fragment, so the last "#" introduces the schema.
    const hash = rest.lastIndexOf("#")
    const url = hash === -1 ? rest : rest.slice(0, hash)
    const schema = hash === -1 ? undefined : rest.slice(hash + 1)
    if (url !== "" && !/^postgres(ql)?:\/\//.test(url)) {
      throw new UsageError(
        `--journal postgres:URL needs a postgres:// URL after "postgres:", got "${mask(value)}" (e.g. postgres:postgres://user@host:5432/db)`,
      )
    }
    if (schema === "") throw new UsageError(`--journal ${mask(value)}: the schema after "#" is empty`)
    return { kind: "postgres", connectionString: url === "" ? undefined : url, schema }
  }
  throw new UsageError(`--journal must be "memory", "sqlite:PATH" or "postgres:URL[#schema]", got "${mask(value)}"`)
}

/**
 * What the CLI needs of a journal: append and read, list runs, and (Postgres) hear of new ones.
 *
 * @example
 * const count = async (journal: CliJournal) => (await journal.runs()).length
 */
export interface CliJournal extends Journal {
  runs(): readonly RunSummary[] | Promise<readonly PostgresRunSummary[]>
  listen?(onRunnable: (runId: string) => void): Promise<() => Promise<void>>
}

/**
 * A journal the CLI opened from a `--journal` value, to close when the command ends.
 *
 * @example
 * const opened: OpenedJournal = await openJournal("sqlite:runs.db")
 */
export interface OpenedJournal {
  readonly journal: CliJournal
  /** The `--journal` value to print for a later command; `undefined` for the memory journal. */
  readonly durable: string | undefined
  close(): Promise<void>
}

/**
 * Opens the journal a `--journal` value names. A Postgres journal is connected (and its schema
 * prepared) here, so a wrong URL is reported before anything runs; `pg` is loaded only then.
 *
 * @example
 * const { journal, close } = await openJournal("sqlite:.switchboard/runs.db")
 */
export const openJournal = async (value = "memory"): Promise<OpenedJournal> => {
  const spec = parseJournal(value)
  const codec = journalCodec()
  const encoded = codec === undefined ? {} : { codec }
  if (spec.kind === "memory") {
    const journal = memoryJournal()
    // The memory journal lists nothing: commands that need runs refuse it before opening.
    return { journal: { ...journal, runs: () => [] }, durable: undefined, close: async () => {} }
  }
  if (spec.kind === "sqlite") {
    try {
      const journal = sqliteJournal({ path: spec.path, ...encoded })
      return { journal, durable: value, close: async () => journal.close() }
    } catch (error) {
      throw new UsageError(`--journal ${value}: cannot open the database: ${messageOf(error)}`)
    }
  }
  let journal
  try {
    journal = postgresJournal({
      ...encoded,
      ...(spec.connectionString === undefined ? {} : { connectionString: spec.connectionString }),
      ...(spec.schema === undefined ? {} : { schema: spec.schema }),
    })
    // Connects and prepares the schema now, so a wrong URL is a usage error before anything runs.
    await journal.runs({ status: "running" })
  } catch (error) {
    await journal?.close()
    throw new UsageError(`--journal ${mask(value)}: cannot open the database: ${messageOf(error)}`)
  }
  const opened = journal
  return { journal: opened, durable: value, close: () => opened.close() }
}

/**
 * The environment variable holding the key(s) of an encrypted journal (see {@link journalCodec}).
 *
 * @example
 * const encrypted = process.env[journalKeyVariable] !== undefined
 */
export const journalKeyVariable = "SWITCHBOARD_JOURNAL_KEY"

/**
 * The codec of the journals the CLI opens: AES-256-GCM under the key(s) in
 * `SWITCHBOARD_JOURNAL_KEY` (unset or empty: payloads in clear). The value is one key (64 hex
 * characters or base64 of 32 bytes) or, to rotate, several separated by commas, the first one
 * encrypting; each may be written `id:key` to name it as the program that wrote the journal did.
 * A key that does not fit is a usage error that never prints the key.
 *
 * @example
 * // SWITCHBOARD_JOURNAL_KEY="2026:$(openssl rand -base64 32),2025:$OLD_KEY" switchboard show r-42 --journal sqlite:runs.db
 * const codec = journalCodec({ SWITCHBOARD_JOURNAL_KEY: process.env.JOURNAL_KEY })
 */
export const journalCodec = (environment: Readonly<Record<string, string | undefined>> = process.env): PayloadCodec | undefined => {
  const value = environment[journalKeyVariable]?.trim() ?? ""
  if (value === "") return undefined
  const keys = value
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      // Neither hex nor base64 has a ":", so one names the key.
      const colon = part.indexOf(":")
      return colon === -1 ? part : { id: part.slice(0, colon), key: part.slice(colon + 1) }
    })
  try {
    return aesGcmCodec(keys)
  } catch (error) {
    throw new UsageError(`${journalKeyVariable}: ${messageOf(error)}`)
  }
}

/**
 * Hides the password of a URL inside a `--journal` value, for printing.
 *
 * @example
 * mask("postgres:postgres://app:s3cret@db/app") // "postgres:postgres://app:***@db/app"
 */
export const mask = (value: string): string => value.replace(/(:\/\/[^:/@\s]*):[^@\s]*@/, "$1:***@")
