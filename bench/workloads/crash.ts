// The kill -9 test at benchmark scale: 200 runs of the crash tests' pipeline, 5 worker processes
// killed at random moments, on SQLite (the process restarted) and on Postgres (two workers, the
// killed one restarted until the last kill, then the survivor finishes alone). Every invariant
// of the crash tests is counted instead of asserted: all must be 0.
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type JournalEntry, sqliteJournal } from "../../src/index.ts"
import { checkInvariants, kill, killAll, sleep, startWorker } from "../../test/durability/crash-support.ts"
import { crashy } from "../../test/durability/crash-worker.ts"
import { locatePostgres } from "../../test/stores/postgres.ts"
import { type Row, row, type Workload } from "../measure.ts"
import { eachConcurrently, temporaryPostgres, unmeasuredRow } from "./durability.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const runCount = quick ? 30 : 200
const kills = quick ? 3 : 5
/** Waiting longer than this for the last runs counts them as lost. */
const finishWithinMs = 180_000

/** What a crash round ended with: the invariants' problems, steps started again, wall time. */
interface Outcome {
  readonly journals: ReadonlyMap<string, readonly JournalEntry[]>
  readonly logs: string
  readonly killed: ReadonlySet<number>
  readonly wallMs: number
}

// Step starts logged so far (every worker appends one line per step it starts).
const startsLogged = (logs: string) => {
  try {
    return readFileSync(join(logs, "executions.log"), "utf8").split("\n").length - 1
  } catch {
    return 0
  }
}

// A worker is killed after 20–140 more step starts, not after a fixed time: on a loaded machine a
// timed kill can land before a worker has done anything. Right after a step start, a kill -9
// lands mid-step; with ~600 step starts in all, the kills are spread over the first two thirds.
const awaitProgress = async (logs: string) => {
  const target = startsLogged(logs) + 20 + Math.floor(Math.random() * 120)
  const deadline = Date.now() + 30_000
  while (startsLogged(logs) < target && Date.now() < deadline) await sleep(5)
}

const waitForRuns = async (open: () => Promise<number>) => {
  const deadline = Date.now() + finishWithinMs
  while ((await open()) > 0 && Date.now() < deadline) await sleep(50)
}

const onSqlite = async (logs: string): Promise<Outcome> => {
  const path = join(logs, "runs.db")
  const journal = sqliteJournal({ path })
  try {
    const runIds: string[] = []
    for (let index = 0; index < runCount; index++) runIds.push(await crashy.submit({ amount: index }, { journal }))
    const started = performance.now()
    const killed = new Set<number>()
    for (let round = 0; round < kills; round++) {
      const child = await startWorker(`sqlite:${path}`, logs)
      await awaitProgress(logs)
      killed.add(child.pid ?? -1)
      await kill(child)
    }
    const survivor = await startWorker(`sqlite:${path}`, logs)
    await waitForRuns(async () => journal.runs().filter((run) => run.status !== "done").length)
    const wallMs = performance.now() - started
    await kill(survivor)
    return { journals: new Map(await Promise.all(runIds.map(async (runId) => [runId, await journal.read(runId)] as const))), logs, killed, wallMs }
  } finally {
    journal.close()
  }
}

const onPostgres = async (logs: string, url: string): Promise<Outcome> => {
  const { journal, schema, dispose } = temporaryPostgres(url)
  try {
    const runIds: string[] = []
    await eachConcurrently(
      Array.from({ length: runCount }, (_, index) => index),
      10,
      async (amount) => {
        runIds.push(await crashy.submit({ amount }, { journal }))
      },
    )
    // The crash tests' step scale for Postgres, whose journal round trips are slower.
    const env = { ...process.env, SWITCHBOARD_DATABASE_URL: url, CRASH_STEP_SCALE: "4" }
    const start = () => startWorker(`postgres:${schema}`, logs, env)
    const started = performance.now()
    const killed = new Set<number>()
    let workers: ChildProcess[] = [await start(), await start()]
    for (let round = 0; round < kills; round++) {
      await awaitProgress(logs)
      const victimIndex = round % 2
      const victim = workers[victimIndex] as ChildProcess
      killed.add(victim.pid ?? -1)
      await kill(victim)
      // After the last kill nobody is restarted: the survivor takes over the dead one's runs.
      if (round === kills - 1) workers = workers.filter((worker) => worker !== victim)
      else workers[victimIndex] = await start()
    }
    await waitForRuns(async () => (await journal.runs()).filter((run) => run.status !== "done").length)
    const wallMs = performance.now() - started
    for (const survivor of workers) await kill(survivor)
    return { journals: new Map(await Promise.all(runIds.map(async (runId) => [runId, await journal.read(runId)] as const))), logs, killed, wallMs }
  } finally {
    // Workers first: dropping the schema under a live worker would wait on its statements.
    killAll()
    await dispose()
  }
}

/** Sorts the crash tests' invariant violations into the benchmark's counts. */
const countProblems = ({ journals, logs, killed }: Outcome) => {
  const { problems, reruns } = checkInvariants(journals, logs, killed)
  const runsWith = (pattern: RegExp) => new Set(problems.filter((problem) => pattern.test(problem)).map((problem) => problem.split(":")[0]))
  const lost = runsWith(/: ends with /)
  const corrupt = new Set([
    ...runsWith(/: seq not contiguous$|: a step visit finished twice$/),
    ...[...runsWith(/: finished steps /)].filter((runId) => !lost.has(runId)),
  ])
  const rerunFinished = problems.filter((problem) => / ran again although | a step visit finished twice$/.test(problem)).length
  const effects = readFileSync(join(logs, "effects.log"), "utf8").trim().split("\n")
  const known =
    /: ends with |: seq not contiguous$|: a step visit finished twice$|: finished steps | ran again although |an idempotent effect happened twice| effects for /
  // Anything else (or an effect missing from a finished run) counts as corruption, and is shown.
  const other = problems.filter((problem) => !known.test(problem))
  const missingEffects = lost.size === 0 && effects.length < journals.size ? journals.size - new Set(effects).size : 0
  for (const problem of problems.slice(0, 20)) process.stderr.write(`  crash problem: ${problem}\n`)
  return { lost: lost.size, corrupt: corrupt.size + other.length + missingEffects, rerunFinished, duplicates: effects.length - new Set(effects).size, reruns }
}

const rowsOf = (label: string, outcome: Outcome): Row[] => {
  const counts = countProblems(outcome)
  return [
    row(`${label}: runs lost`, counts.lost, "runs", 0),
    row(`${label}: finished steps re-run`, counts.rerunFinished, "steps", 0),
    row(`${label}: duplicate effects (idempotent tool)`, counts.duplicates, "effects", 0),
    row(`${label}: corrupt runs`, counts.corrupt, "runs", 0),
    row(`${label}: steps started again after a kill (in flight when killed)`, counts.reruns, "steps"),
    row(`${label}: wall time, first worker start to all runs done`, outcome.wallMs / 1000, "s"),
  ]
}

// Runs one crash round in a temporary folder for its logs, and counts before the folder goes.
const measureIn = async (label: string, work: (folder: string) => Promise<Outcome>): Promise<Row[]> => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-bench-crash-"))
  try {
    return rowsOf(label, await work(folder))
  } finally {
    killAll()
    rmSync(folder, { recursive: true, force: true })
  }
}

/** The crash workload: kill -9 of worker processes at benchmark scale, on SQLite and Postgres. */
export const crashWorkload: Workload = {
  name: "crash (kill -9)",
  run: async (): Promise<readonly Row[]> => {
    const sqliteLabel = `SQLite, ${runCount} runs, ${kills} kills (restarted)`
    const rows = await measureIn(sqliteLabel, onSqlite)
    const postgresLabel = `Postgres, ${runCount} runs, ${kills} kills (2 workers)`
    const server = await locatePostgres()
    if (!server.available) {
      const names = ["runs lost", "finished steps re-run", "duplicate effects (idempotent tool)", "corrupt runs"]
      return [...rows, ...names.map((name) => unmeasuredRow(`${postgresLabel}: ${name}`, "count", server.reason, 0))]
    }
    return [...rows, ...(await measureIn(postgresLabel, (folder) => onPostgres(folder, server.url)))]
  },
}
