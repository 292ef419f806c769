/**
 * 14 — the same pipeline on a Restate cluster. It starts a local three-node Restate cluster
 * (replication 2, from the `@restatedev/restate-server` npm package, on loopback ports), a worker
 * process serving the order pipeline as a Restate workflow, and three orders. While every order is
 * shipping, the worker is killed with SIGKILL. A new worker starts on the same address; Restate
 * replays each run from its own journal: packed orders are not packed again, and each order ships
 * again with the same idempotency key (`runId:ship:1`), so the carrier ships it once.
 *
 * Run: `npx node examples/14-restate-cluster.ts`. It runs offline: everything listens on
 * 127.0.0.1 (the server's start-up check for a newer release on GitHub just fails).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { z } from "zod"
import { freePort, restateClient, restateEndpoint, startRestateServer } from "../src/engines/restate/index.ts"
import { callTool, fn, pipeline, type RunResult, sqliteJournal, tool } from "../src/index.ts"

const linesOfFile = (file: string) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")
    : []
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const say = (line: string) => process.stdout.write(`${line}\n`)

/**
 * Orders: pack, ship through a carrier that keeps one shipment per idempotency key, notify.
 *
 * @example
 * const orders = makeOrders("/tmp/warehouse")
 * await restateClient({ ingress }).run(orders, { orderId: "A-1001" })
 */
export const makeOrders = (warehouse: string) => {
  const ship = tool({
    name: "ship",
    input: z.object({ orderId: z.string() }),
    run: async ({ orderId }, { idempotencyKey }) => {
      appendFileSync(join(warehouse, "calls.log"), `${idempotencyKey}\n`)
      if (!linesOfFile(join(warehouse, "shipments.log")).includes(idempotencyKey)) appendFileSync(join(warehouse, "shipments.log"), `${idempotencyKey}\n`)
      say(`shipping ${idempotencyKey}`)
      // The carrier is slow: the kill lands while it answers.
      await sleep(1500)
      return { trackingId: `trk-${orderId}` }
    },
  })
  return pipeline({ id: "orders", input: z.object({ orderId: z.string() }) })
    .step(
      "pack",
      fn(({ input, runId }) => {
        appendFileSync(join(warehouse, "packed.log"), `${runId}\n`)
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
 * A worker process: serves the orders pipeline on `port` until killed, mirroring run events into
 * `warehouse`/runs.db for `switchboard show`.
 *
 * @example
 * await serveWorker(9080, "/tmp/warehouse") // node examples/14-restate-cluster.ts worker 9080 /tmp/warehouse
 */
export const serveWorker = async (port: number, warehouse: string) => {
  const endpoint = restateEndpoint({ pipelines: [makeOrders(warehouse)], store: sqliteJournal({ path: join(warehouse, "runs.db") }), logger: () => {} })
  await endpoint.listen(port)
  say("ready")
}

const startWorker = (port: number, warehouse: string, onLine: (line: string) => void): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, "worker", String(port), warehouse], { stdio: ["ignore", "pipe", "pipe"] })
    let errors = ""
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()))
    child.once("exit", (code) => reject(new Error(`worker exited (${code}) before it was ready: ${errors}`)))
    createInterface({ input: child.stdout! }).on("line", (line) => (line === "ready" ? resolve(child) : onLine(line)))
  })

/**
 * What happened to the orders across the kill.
 *
 * @example
 * const shippedOnce = (summary: Summary) => Object.values(summary.shipments).every((count) => count === 1)
 */
export interface Summary {
  readonly results: readonly RunResult<{ notify: string }>[]
  /** Idempotency key → shipments made with it (each must be 1). */
  readonly shipments: Readonly<Record<string, number>>
  /** Calls of the carrier, the one repeated after the kill included. */
  readonly shipCalls: number
  /** Times each run was packed (a finished step never runs again: each must be 1). */
  readonly packed: Readonly<Record<string, number>>
  readonly killedPid: number
}

const countLines = (file: string) => {
  const counts: Record<string, number> = {}
  for (const line of linesOfFile(file)) counts[line] = (counts[line] ?? 0) + 1
  return counts
}

/**
 * Starts a three-node cluster and a worker, runs three orders, kills the worker mid-shipment,
 * starts another and waits for every order.
 *
 * @example
 * const summary = await main()
 */
export const main = async ({ log = console.log }: { readonly log?: (line: string) => void } = {}): Promise<Summary> => {
  const warehouse = mkdtempSync(join(tmpdir(), "switchboard-example-14-"))
  const cluster = await startRestateServer({ nodes: 3, replication: 2 })
  let worker: ChildProcess | undefined
  try {
    log(`Restate cluster of ${cluster.nodes.length} nodes up; ingress ${cluster.ingressUrl}`)
    const port = await freePort()
    // Kill once every order is shipping: each pack's result is then in Restate's journal (ctx.run
    // returns only once Restate has it). A step killed before Restate has its result runs again:
    // Restate, like every durable engine, runs a step at least once, so killing while an order is
    // still packing could pack it twice.
    let allShipping: () => void = () => {}
    const everyOrderShipping = new Promise<void>((resolve) => (allShipping = resolve))
    let shippingLines = 0
    const onLine = (line: string) => {
      if (line.startsWith("shipping ") && ++shippingLines === 3) allShipping()
    }
    worker = await startWorker(port, warehouse, onLine)
    await cluster.register(`http://127.0.0.1:${port}`)
    log(`worker ${worker.pid} serves the "orders" workflow on port ${port}`)

    const orders = makeOrders(warehouse)
    const client = restateClient({ ingress: cluster.ingressUrl })
    const runIds = await Promise.all(["A-1001", "A-1002", "A-1003"].map((orderId) => client.start(orders, { orderId })))
    log(`started ${runIds.length} orders`)
    await everyOrderShipping
    const killedPid = worker.pid ?? -1
    const exited = new Promise((resolve) => worker?.once("exit", resolve))
    worker.kill("SIGKILL")
    await exited
    log(`killed worker ${killedPid} with SIGKILL while it was shipping`)
    worker = await startWorker(port, warehouse, onLine)
    log(`worker ${worker.pid} started on the same address: Restate hands it the runs`)

    const results = (await Promise.all(runIds.map((runId) => client.result(orders, runId)))) as RunResult<{ notify: string }>[]
    for (const result of results) log(`${result.runId}: ${result.status === "done" ? result.output : result.status}`)
    const summary: Summary = {
      results,
      shipments: countLines(join(warehouse, "shipments.log")),
      shipCalls: linesOfFile(join(warehouse, "calls.log")).length,
      packed: countLines(join(warehouse, "packed.log")),
      killedPid,
    }
    log(`carrier calls: ${summary.shipCalls}; shipments: ${Object.keys(summary.shipments).length}, each once; every order packed once`)
    return summary
  } finally {
    worker?.kill("SIGKILL")
    await cluster.stop()
    rmSync(warehouse, { recursive: true, force: true })
  }
}

if (import.meta.filename === process.argv[1]) {
  const [command, port = "0", warehouse = ""] = process.argv.slice(2)
  if (command === "worker") await serveWorker(Number(port), warehouse)
  else await main()
}
