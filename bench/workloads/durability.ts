// Durable journals: what a step costs on SQLite and on Postgres against the in-memory journal,
// how journal bytes grow with the number of steps (DESIGN.md: linearly), and how long delivering
// a decision to 1,000 runs paused on a human step takes.
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { z } from "zod"
import { type AnyStep, fn, human, type Journal, memoryJournal, type Pipeline, pipeline, postgresJournal, sqliteJournal } from "../../src/index.ts"
import { dropSchemas, freshSchema, locatePostgres, type TestServer } from "../../test/stores/postgres.ts"
import { compare, defaultRepetitions, median, type Repetitions, type Row, row, type Workload } from "../measure.ts"

const quick = process.env["BENCH_QUICK"] === "1"
/** Steps in the chain whose per-step cost is compared across journals (as in the chain workload). */
const costChainLength = 20
/** Chain lengths whose journal bytes are compared. */
const byteChainLengths = [10, 50, 200] as const
/** DESIGN.md: journal bytes grow linearly with steps; bytes/step of the longest chain over the shortest, at most. */
export const linearityTarget = 1.2
const waitingRuns = quick ? 100 : 1_000
/** Decisions delivered at once. The Postgres server is shared with other test runs. */
const decideConcurrency = { sqlite: 50, postgres: 20 } as const
// A Postgres run costs milliseconds (a committed round trip per event): fewer repetitions.
const postgresRepetitions: Repetitions = quick ? { warmup: 5, batches: 3, runsPerBatch: 5 } : { warmup: 20, batches: 7, runsPerBatch: 20 }

const Input = z.object({ seed: z.number() })
type ChainInput = z.infer<typeof Input>
type ChainSteps = Readonly<Record<string, { index: number; value: number } | undefined>>

/** A chain of `length` fn steps, each deriving a small object from the previous step's output. */
const chainOf = (length: number): Pipeline<ChainInput, Record<string, unknown>> => {
  let builder: { step: (name: string, step: AnyStep) => typeof builder; edges: (edges: Record<string, string>) => unknown } = pipeline({
    id: `bench-durable-chain-${length}`,
    input: Input,
  }) as never
  const edges: Record<string, string> = {}
  for (let index = 0; index < length; index++) {
    builder = builder.step(
      `step${index}`,
      fn(({ input, steps }: { input: ChainInput; steps: ChainSteps }) => ({
        index,
        value: (index === 0 ? input.seed : (steps[`step${index - 1}`]?.value ?? 0)) * 3 + index,
      })) as AnyStep,
    )
    edges[`step${index}`] = index === length - 1 ? "done" : `step${index + 1}`
  }
  return builder.edges(edges) as Pipeline<ChainInput, Record<string, unknown>>
}

/** A run paused on a human step between two fn steps. */
const approval = pipeline({ id: "bench-durable-approval", input: Input })
  .step(
    "prepare",
    fn(({ input }) => input.seed * 2),
  )
  .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
  .step(
    "finish",
    fn(({ steps }) => (steps.prepare ?? 0) + 1),
  )
  .edges({ prepare: "review", review: "finish", finish: "done" })

const expect = <TResult extends { status: string }>(result: TResult, status: string, what: string): TResult => {
  if (result.status !== status) throw new Error(`${what} ended ${result.status}, expected ${status}: ${JSON.stringify(result)}`)
  return result
}

/** Calls `work` on every item, at most `concurrency` at a time. */
export const eachConcurrently = async <TItem>(items: readonly TItem[], concurrency: number, work: (item: TItem) => Promise<void>): Promise<void> => {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as TItem)
    }),
  )
}

/**
 * A row that could not be measured (Postgres unavailable): `value` is null in the JSON and the
 * note says why. `Row.value` is a number, so the null is asserted here, in one place.
 */
export const unmeasuredRow = (name: string, unit: string, note: string, target: number | null = null): Row => ({
  name: `${name} (not measured: ${note.split("\n")[0]?.slice(0, 120)})`,
  value: null as unknown as number,
  unit,
  target,
  met: null,
})

/** A SQLite journal in a temporary folder, removed by `dispose`. */
const temporarySqlite = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-bench-"))
  const journal = sqliteJournal({ path: join(folder, "runs.db") })
  return { journal, dispose: () => (journal.close(), rmSync(folder, { recursive: true, force: true })) }
}

/** A Postgres journal in a fresh schema, dropped by `dispose`. */
export const temporaryPostgres = (url: string) => {
  const schema = freshSchema()
  const journal = postgresJournal({ connectionString: url, schema, connectTimeoutMs: 2000 })
  return { journal, schema, dispose: async () => (await journal.close(), await dropSchemas(url, [schema])) }
}

const costChain = chainOf(costChainLength)
const runChain = (journal: Journal) => async () => expect(await costChain.run({ seed: 1 }, { journal }), "done", "chain")

const stepCost = async (server: TestServer): Promise<Row[]> => {
  const label = `fn chain (${costChainLength} steps)`
  const perStep = (microseconds: number) => microseconds / costChainLength
  const sqlite = temporarySqlite()
  let local
  try {
    local = await compare({ memory: () => runChain(memoryJournal())(), sqlite: runChain(sqlite.journal) }, defaultRepetitions)
  } finally {
    sqlite.dispose()
  }
  const rows = [
    row(`${label}, memory journal`, perStep(local.memory), "µs/step"),
    row(`${label}, SQLite journal`, perStep(local.sqlite), "µs/step"),
    row(`${label}, SQLite journal: added cost`, perStep(local.sqlite - local.memory), "µs/step"),
    row(`${label}, SQLite / memory`, local.sqlite / local.memory, "x"),
  ]
  if (!server.available) {
    return [...rows, unmeasuredRow(`${label}, Postgres journal`, "µs/step", server.reason), unmeasuredRow(`${label}, Postgres / memory`, "x", server.reason)]
  }
  const postgres = temporaryPostgres(server.url)
  let remote
  let floor
  try {
    remote = await compare({ memory: () => runChain(memoryJournal())(), postgres: runChain(postgres.journal) }, postgresRepetitions)
    floor = await postgresFloor(server.url, postgres.schema)
  } finally {
    await postgres.dispose()
  }
  return [
    ...rows,
    row(`${label}, Postgres journal`, perStep(remote.postgres), "µs/step"),
    row(`${label}, Postgres journal: added cost`, perStep(remote.postgres - remote.memory), "µs/step"),
    row(`${label}, Postgres / memory`, remote.postgres / remote.memory, "x"),
    row(
      "Postgres server, for context: one committed INSERT (a WAL flush; a step costs two: route.taken with step.started, then step.finished)",
      floor.commitMs * 1000,
      "µs",
    ),
    row("Postgres server, for context: open and close a connection (what a claim cost when each claim had its own)", floor.connectMs * 1000, "µs"),
  ]
}

// What the server itself costs on this machine, the floor under a Postgres journal's numbers.
const postgresFloor = async (url: string, schema: string): Promise<{ commitMs: number; connectMs: number }> => {
  const samples = quick ? 10 : 50
  const timed = async (work: () => Promise<unknown>) => {
    const times: number[] = []
    for (let sample = 0; sample < samples; sample++) {
      const started = performance.now()
      await work()
      times.push(performance.now() - started)
    }
    return median(times)
  }
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`CREATE TABLE "${schema}".bench_probe (id integer)`)
    return {
      commitMs: await timed(() => client.query(`INSERT INTO "${schema}".bench_probe VALUES (1)`)),
      connectMs: await timed(async () => {
        const probe = new pg.Client({ connectionString: url })
        await probe.connect()
        await probe.end()
      }),
    }
  } finally {
    await client.end()
  }
}

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? "")

// Every journal entry of one run read back from SQLite, as JSON; the final snapshot separately.
const journalBytes = async (): Promise<Row[]> => {
  const sqlite = temporarySqlite()
  const perStep = new Map<number, number>()
  const rows: Row[] = []
  try {
    for (const length of byteChainLengths) {
      const { runId } = expect(await chainOf(length).run({ seed: 1 }, { journal: sqlite.journal }), "done", `${length}-step chain`)
      const entries = await sqlite.journal.read(runId)
      const bytes = entries.reduce((sum, entry) => sum + jsonBytes(entry), 0)
      perStep.set(length, bytes / length)
      rows.push(row(`journal of a ${length}-step run (${entries.length} entries, ${bytes} bytes)`, bytes / length, "bytes/step"))
      if (length === byteChainLengths.at(-1)) {
        rows.push(row(`final snapshot of the ${length}-step run (written once, at the end)`, jsonBytes(await sqlite.journal.loadSnapshot(runId)), "bytes"))
      }
    }
  } finally {
    sqlite.dispose()
  }
  const [shortest, longest] = [byteChainLengths[0], byteChainLengths.at(-1) as number]
  const ratio = (perStep.get(longest) as number) / (perStep.get(shortest) as number)
  rows.push(row(`linear: bytes/step at ${longest} steps / at ${shortest} steps`, ratio, "x", linearityTarget))
  return rows
}

// Pauses `waitingRuns` runs on their human step, then times delivering a decision to every one.
const resumeWaiting = async (journal: Journal, concurrency: number): Promise<{ pauseMs: number; decideMs: number }> => {
  const runIds: string[] = []
  const seeds = Array.from({ length: waitingRuns }, (_, index) => index)
  let started = performance.now()
  await eachConcurrently(seeds, concurrency, async (seed) => {
    runIds.push(expect(await approval.run({ seed }, { journal }), "awaiting-human", "approval run").runId)
  })
  const pauseMs = performance.now() - started
  started = performance.now()
  await eachConcurrently(runIds, concurrency, async (runId) => {
    expect(await approval.decide(runId, "review", { approve: true }, { journal }), "done", `decided run ${runId}`)
  })
  return { pauseMs, decideMs: performance.now() - started }
}

const resumeRows = (store: string, concurrency: number, times: { pauseMs: number; decideMs: number }): Row[] => [
  row(`${store}: decide ${waitingRuns} waiting runs (${concurrency} at a time), total`, times.decideMs, "ms"),
  row(`${store}: decide ${waitingRuns} waiting runs, per run`, times.decideMs / waitingRuns, "ms/run"),
  row(`${store}: pause ${waitingRuns} runs on a human step (setup, for context), per run`, times.pauseMs / waitingRuns, "ms/run"),
]

const resumeTime = async (server: TestServer): Promise<Row[]> => {
  const sqlite = temporarySqlite()
  let rows
  try {
    rows = resumeRows("SQLite", decideConcurrency.sqlite, await resumeWaiting(sqlite.journal, decideConcurrency.sqlite))
  } finally {
    sqlite.dispose()
  }
  if (!server.available) {
    return [
      ...rows,
      unmeasuredRow(`Postgres: decide ${waitingRuns} waiting runs, total`, "ms", server.reason),
      unmeasuredRow(`Postgres: decide ${waitingRuns} waiting runs, per run`, "ms/run", server.reason),
    ]
  }
  const postgres = temporaryPostgres(server.url)
  try {
    return [...rows, ...resumeRows("Postgres", decideConcurrency.postgres, await resumeWaiting(postgres.journal, decideConcurrency.postgres))]
  } finally {
    await postgres.dispose()
  }
}

/** The durability workload: per-step cost by journal, journal bytes by run length, resume time of paused runs. */
export const durabilityWorkload: Workload = {
  name: "durable journals",
  run: async (): Promise<readonly Row[]> => {
    const server = await locatePostgres()
    return [...(await stepCost(server)), ...(await journalBytes()), ...(await resumeTime(server))]
  },
}
