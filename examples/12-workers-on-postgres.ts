/**
 * 12 — workers on Postgres. One process submits orders into a Postgres journal; two worker
 * processes share that database and execute them. Midway, the worker that is shipping an order is
 * killed with SIGKILL (no cleanup, no goodbye). Postgres frees its claims when its connection
 * dies, so the other worker takes over its runs and finishes everything, with no restart. The
 * shipping tool is idempotent: the order that was shipping when the kill landed is asked to ship
 * again with the same idempotency key (`runId:ship:1`), and ships once.
 *
 * Run: `npx node examples/12-workers-on-postgres.ts`. It needs a Postgres server:
 * SWITCHBOARD_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test. It works in a fresh
 * schema that it drops at the end.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import pg from "pg"
import { z } from "zod"
import { callTool, fn, pipeline, postgresJournal, tool, worker } from "../src/index.ts"

const localServer = "postgres://postgres@127.0.0.1:5432/test"
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
// What a worker process tells the process that started it, one line each.
const say = (line: string) => process.stdout.write(`${line}\n`)

/**
 * An order pipeline whose `ship` tool calls a (simulated) carrier that keeps one shipment per
 * idempotency key in `warehouse`/shipments.log, however often it is asked.
 *
 * @example
 * const orders = makeOrders("/tmp/warehouse")
 * const runId = await orders.submit({ orderId: "A-1001" }, { journal: postgresJournal() })
 */
export const makeOrders = (warehouse: string) => {
  const ship = tool({
    name: "ship",
    input: z.object({ orderId: z.string() }),
    idempotent: true,
    run: async ({ orderId }, { idempotencyKey, runId }) => {
      const shipments = join(warehouse, "shipments.log")
      const known =
        existsSync(shipments) &&
        readFileSync(shipments, "utf8")
          .split("\n")
          .some((line) => line.startsWith(`${idempotencyKey} `))
      if (!known) appendFileSync(shipments, `${idempotencyKey} ${process.pid}\n`)
      appendFileSync(join(warehouse, "calls.log"), `${idempotencyKey} ${process.pid}\n`)
      say(`shipping ${runId}`)
      // The carrier answers slowly: a kill now lands after the shipment, before its result is journaled.
      await sleep(400)
      return { trackingId: `trk-${orderId}` }
    },
  })
  return pipeline({ id: "orders", input: z.object({ orderId: z.string() }) })
    .step(
      "pack",
      fn(async ({ input, runId }) => {
        say(`started ${runId}`)
        await sleep(20)
        return { orderId: input.orderId, boxes: 1 }
      }),
    )
    .step(
      "ship",
      callTool(ship, ({ steps }) => ({ orderId: steps.pack?.orderId ?? "" })),
    )
    .step(
      "notify",
      fn(({ steps }) => `order ${steps.pack?.orderId} is on its way (${steps.ship?.trackingId})`),
    )
    .edges({ pack: "ship", ship: "notify", notify: "done" })
}

/**
 * A worker process: executes orders from the shared schema until SIGTERM, then stops gracefully.
 *
 * @example
 * await runWorker("example_12_abc", "/tmp/warehouse") // node examples/12-workers-on-postgres.ts worker <schema> <warehouse>
 */
export const runWorker = async (schema: string, warehouse: string) => {
  // The connection string comes from SWITCHBOARD_DATABASE_URL.
  const journal = postgresJournal({ schema })
  const running = worker({
    journal,
    pipelines: [makeOrders(warehouse)],
    concurrency: 2,
    pollMs: 100,
    onResult: (result) => say(`${result.status} ${result.runId}`),
    onError: (runId, error) => process.stderr.write(`run ${runId}: ${error instanceof Error ? error.message : String(error)}\n`),
  })
  say("ready")
  await new Promise((resolve) => process.once("SIGTERM", resolve))
  await running.stop()
  await journal.close()
}

/**
 * What happened: who finished which runs, and how often each order shipped.
 *
 * @example
 * const shippedOnce = (summary: Summary) => Object.values(summary.shipments).every((count) => count === 1)
 */
export interface Summary {
  /** The schema the example worked in (dropped before `main` returns). */
  readonly schema: string
  readonly runs: number
  readonly done: number
  /** Worker pid → the runs it finished. */
  readonly finishedBy: Readonly<Record<number, readonly string[]>>
  readonly killed: number
  readonly survivor: number
  /** Runs the killed worker had started and not finished: the survivor finished them. */
  readonly takenOver: readonly string[]
  /** Idempotency key → shipments made with it. */
  readonly shipments: Readonly<Record<string, number>>
  /** Calls of the shipping tool, repeats after the kill included. */
  readonly shipCalls: number
  readonly survivorExitCode: number | null
}

interface WorkerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly lines: string[]
  readonly exited: Promise<number | null>
}

const startWorker = (
  schema: string,
  warehouse: string,
  connectionString: string,
  onLine: (worker: WorkerProcess, line: string) => void,
): Promise<WorkerProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, "worker", schema, warehouse], {
      env: { ...process.env, SWITCHBOARD_DATABASE_URL: connectionString },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let errors = ""
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    const exited = new Promise<number | null>((settle) => child.once("exit", (code) => settle(code)))
    void exited.then((code) => reject(new Error(`worker exited (${code}) before it was ready: ${errors}`)))
    const started: WorkerProcess = { child, pid: child.pid ?? -1, lines: [], exited }
    createInterface({ input: child.stdout! }).on("line", (line) => {
      started.lines.push(line)
      if (line === "ready") resolve(started)
      onLine(started, line)
    })
  })

const countBy = (lines: readonly string[]) => {
  const counts: Record<string, number> = {}
  for (const line of lines) {
    const key = line.split(" ")[0] ?? ""
    counts[key] = (counts[key] ?? 0) + 1
  }
  return counts
}
const linesOf = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter((line) => line !== "")
    : []

/**
 * Submits `runs` orders, starts two workers, kills one midway and lets the other finish.
 *
 * @example
 * const summary = await main({ runs: 12 })
 */
export const main = async ({
  log = console.log,
  runs = 12,
  connectionString = process.env.SWITCHBOARD_DATABASE_URL ?? localServer,
}: {
  readonly log?: (line: string) => void
  readonly runs?: number
  readonly connectionString?: string
} = {}): Promise<Summary> => {
  const schema = `example_12_${Math.random().toString(36).slice(2, 10)}`
  const warehouse = mkdtempSync(join(tmpdir(), "switchboard-example-12-"))
  const journal = postgresJournal({ connectionString, schema })
  const workers: WorkerProcess[] = []
  try {
    const orders = makeOrders(warehouse)
    const runIds: string[] = []
    for (let index = 1; index <= runs; index++) runIds.push(await orders.submit({ orderId: `A-${1000 + index}` }, { journal }))
    log(`submitted ${runs} orders into schema ${schema}`)

    // Midway (a third of the runs done), kill the first worker caught shipping an order.
    let finished = 0
    let victim: WorkerProcess | undefined
    let killedOne: () => void = () => {}
    const killed = new Promise<void>((resolve) => (killedOne = resolve))
    const onLine = (from: WorkerProcess, line: string) => {
      if (line.startsWith("done ")) finished++
      if (victim === undefined && line.startsWith("shipping ") && finished >= runs / 3) {
        victim = from
        from.child.kill("SIGKILL")
        killedOne()
      }
    }
    workers.push(...(await Promise.all([startWorker(schema, warehouse, connectionString, onLine), startWorker(schema, warehouse, connectionString, onLine)])))
    log(`workers ${workers.map((started) => started.pid).join(" and ")} share the database`)

    const deadline = Date.now() + 60_000
    const allDone = async () => (await journal.runs()).filter((run) => run.status === "done").length === runs
    while (!(await allDone())) {
      if (Date.now() > deadline) throw new Error(`not every run finished in time: ${JSON.stringify(await journal.runs())}`)
      await Promise.race([killed, sleep(100)])
    }
    if (victim === undefined) throw new Error("every run finished before a worker could be killed")
    const killedWorker: WorkerProcess = victim
    await killedWorker.exited
    log(`killed worker ${killedWorker.pid} with SIGKILL while it was shipping`)

    const survivor = workers.find((started) => started !== killedWorker) as WorkerProcess
    // The last run is journaled done a moment before the survivor prints it.
    while (survivor.lines.filter((line) => line.startsWith("done ")).length + killedWorker.lines.filter((line) => line.startsWith("done ")).length < runs) {
      if (Date.now() > deadline) throw new Error("the survivor did not report every run")
      await sleep(20)
    }
    survivor.child.kill("SIGTERM")
    const survivorExitCode = await survivor.exited

    const runsOf = (started: WorkerProcess, prefix: string) => started.lines.filter((line) => line.startsWith(prefix)).map((line) => line.split(" ")[1] ?? "")
    const finishedBy = Object.fromEntries(workers.map((started) => [started.pid, runsOf(started, "done ")]))
    const killedFinished = new Set(runsOf(killedWorker, "done "))
    const takenOver = [...new Set(runsOf(killedWorker, "started "))].filter((runId) => !killedFinished.has(runId))
    const summary: Summary = {
      schema,
      runs,
      done: (await journal.runs()).filter((run) => run.status === "done").length,
      finishedBy,
      killed: killedWorker.pid,
      survivor: survivor.pid,
      takenOver,
      shipments: countBy(linesOf(join(warehouse, "shipments.log"))),
      shipCalls: linesOf(join(warehouse, "calls.log")).length,
      survivorExitCode,
    }
    for (const started of workers)
      log(`worker ${started.pid}${started === killedWorker ? " (killed)" : ""} finished ${finishedBy[started.pid]?.length ?? 0} runs`)
    log(`the survivor took over ${takenOver.length} run(s) of the killed worker: ${takenOver.join(", ")}`)
    const repeats = summary.shipCalls - Object.keys(summary.shipments).length
    log(`${Object.keys(summary.shipments).length} orders shipped once each; ${repeats} repeated call(s) after the kill shipped nothing new`)
    return summary
  } finally {
    for (const started of workers) if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGKILL")
    await journal.close()
    await dropSchema(connectionString, schema)
    rmSync(warehouse, { recursive: true, force: true })
  }
}

const dropSchema = async (connectionString: string, schema: string) => {
  const client = new pg.Client({ connectionString })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

if (import.meta.filename === process.argv[1]) {
  const [command, schema = "", warehouse = ""] = process.argv.slice(2)
  if (command === "worker") await runWorker(schema, warehouse)
  else await main()
}
