import { execFile } from "node:child_process"
import { readdirSync } from "node:fs"
import { promisify } from "node:util"
import pg from "pg"

/**
 * The test database: `SWITCHBOARD_TEST_DATABASE_URL`, else the local development server
 * (127.0.0.1:5432, user postgres, database test, trust authentication).
 */
export const testDatabaseUrl = process.env.SWITCHBOARD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test"

/** Where the Postgres tests run, or why they cannot. */
export type TestServer = { readonly available: true; readonly url: string } | { readonly available: false; readonly reason: string }

const connectTimeoutMs = 2000

const reachable = async (url: string): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs })
  client.on("error", () => {})
  try {
    await client.connect()
    await client.query("SELECT 1")
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await client.end().catch(() => {})
  }
}

// The Debian cluster of this machine, started without systemd; bounded so a broken install cannot hang the suite.
const startLocalCluster = async (): Promise<string> => {
  try {
    const versions = readdirSync("/etc/postgresql")
    if (versions.length === 0) return "no cluster in /etc/postgresql"
    await promisify(execFile)("pg_ctlcluster", ["--skip-systemctl-redirect", versions[0]!, "main", "start"], { timeout: 20_000 })
    return `started cluster ${versions[0]}/main`
  } catch (error) {
    return `could not start the local cluster: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`
  }
}

const createTestDatabase = async (): Promise<string> => {
  const client = new pg.Client({ connectionString: testDatabaseUrl.replace(/\/test$/, "/postgres"), connectionTimeoutMillis: connectTimeoutMs })
  client.on("error", () => {})
  try {
    await client.connect()
    await client.query("CREATE DATABASE test")
    return "created database test"
  } catch (error) {
    return `could not create database test: ${error instanceof Error ? error.message : String(error)}`
  } finally {
    await client.end().catch(() => {})
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Finds the test server, starting the local cluster if it is down. Resolves with why it is not
 * available when it cannot be reached; under CI (`process.env.CI`) that rejects instead, because
 * CI must run the Postgres tests.
 *
 * @example
 * const server = await locatePostgres()
 * describe.skipIf(!server.available)("postgres", () => {})
 */
export const locatePostgres = async (): Promise<TestServer> => {
  let failure = await reachable(testDatabaseUrl)
  if (failure === undefined) return { available: true, url: testDatabaseUrl }
  let attempt = "(SWITCHBOARD_TEST_DATABASE_URL is set: not starting a local server)"
  if (process.env.SWITCHBOARD_TEST_DATABASE_URL === undefined && /database "test" does not exist/.test(failure)) {
    attempt = await createTestDatabase()
    failure = await reachable(testDatabaseUrl)
    if (failure === undefined) return { available: true, url: testDatabaseUrl }
  } else if (process.env.SWITCHBOARD_TEST_DATABASE_URL === undefined) {
    attempt = await startLocalCluster()
    const deadline = Date.now() + 10_000
    while (failure !== undefined && Date.now() < deadline) {
      await sleep(250)
      failure = await reachable(testDatabaseUrl)
    }
    if (failure === undefined) return { available: true, url: testDatabaseUrl }
  }
  const reason = `Postgres at ${testDatabaseUrl} is unavailable (${failure}); ${attempt}`
  if (process.env.CI !== undefined && process.env.CI !== "") throw new Error(`${reason}. CI must run the Postgres tests (see test/stores/postgres.ts)`)
  return { available: false, reason }
}

/** A fresh schema name for one test, `sb_test_<random>`. */
export const freshSchema = (): string => `sb_test_${Math.random().toString(36).slice(2, 10)}`

/**
 * Drops schemas made by {@link freshSchema}, on a short-lived connection.
 *
 * @example
 * afterEach(() => dropSchemas(["sb_test_abc"]))
 */
export const dropSchemas = async (url: string, schemas: readonly string[]): Promise<void> => {
  if (schemas.length === 0) return
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs })
  client.on("error", () => {})
  await client.connect()
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}
