// Pipelines on a Restate cluster: a 3-node loopback cluster (replication 2) and two service
// processes behind a loopback proxy. Throughput of 2,000 five-step runs with 20 ms steps, the time
// Restate adds per step against the local runtime, then a crash round (200 runs, 5 × kill -9 of a
// service process): takeover time, and the crash tests' invariants counted (all must be 0).
// Run alone: `node bench/run.ts restate` (BENCH_QUICK=1: 300 runs, 60 in the crash round).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { z } from "zod"
import { type RestateServer, restateClient, restateEndpoint, restateServerBinary, startRestateServer } from "../../src/engines/restate/index.ts"
import { fn, type JournalEntry, pipeline, sqliteJournal } from "../../src/index.ts"
import { type LoopbackProxy, loopbackProxy } from "../../test/restate/proxy.ts"
import { chargePipeline, linesOf, rerunsOfFinished } from "../../test/restate/service-pipelines.ts"
import { killServices, type ServiceProcess, sleep, startService } from "../../test/restate/support.ts"
import { median, type Row, row, type Workload } from "../measure.ts"
import { eachConcurrently, unmeasuredRow } from "./durability.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const throughputRuns = quick ? 300 : 2000
const crashRuns = quick ? 60 : 200
const kills = 5
const stepMs = 20
const steps = ["reserve", "price", "charge", "receipt", "notify"]

/** Two service processes writing one SQLite projection in `directory`, behind one proxy URL. */
const fleet = async (server: RestateServer, directory: string) => {
  const services: ServiceProcess[] = [await startService(directory, { stepMs, chargeMs: stepMs }), await startService(directory, { stepMs, chargeMs: stepMs })]
  const proxy: LoopbackProxy = await loopbackProxy(() => services.map((service) => service.port))
  await server.register(proxy.url)
  return { services, proxy }
}

const percentile = (values: readonly number[], fraction: number) => {
  const sorted = [...values].sort((left, right) => left - right)
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN
}

const throughput = async (server: RestateServer, directory: string): Promise<Row[]> => {
  const { proxy } = await fleet(server, directory)
  const client = restateClient({ ingress: server.ingressUrl })
  const pipeline = chargePipeline(directory, stepMs, stepMs)
  try {
    // Latency first, one run at a time: what Restate adds to each step of one run.
    const latency = async (run: () => Promise<unknown>) => {
      const times: number[] = []
      for (let index = 0; index < 15; index++) {
        const started = performance.now()
        await run()
        times.push(performance.now() - started)
      }
      return median(times.slice(3))
    }
    const local = chargePipeline(join(directory, "local"), stepMs, stepMs)
    mkdirSync(join(directory, "local"))
    const localMs = await latency(() => local.run({ amount: 1 }))
    const restateMs = await latency(() => client.run(pipeline, { amount: 1 }))

    const amounts = Array.from({ length: throughputRuns }, (_, index) => index)
    const runIds: string[] = []
    const started = performance.now()
    await eachConcurrently(amounts, 50, async (amount) => void runIds.push(await client.start(pipeline, { amount })))
    let done = 0
    await eachConcurrently(runIds, 200, async (runId) => {
      if ((await client.result(pipeline, runId)).status === "done") done++
    })
    const wallMs = performance.now() - started
    const localStarted = performance.now()
    await eachConcurrently(amounts, 2000, async (amount) => void (await local.run({ amount })))
    const localWallMs = performance.now() - localStarted
    return [
      row(`${throughputRuns} five-step runs (${stepMs} ms steps), 3-node cluster, 2 service processes`, (throughputRuns * 1000) / wallMs, "runs/s"),
      row(`same runs, local runtime in one process`, (throughputRuns * 1000) / localWallMs, "runs/s"),
      row(`runs not done`, throughputRuns - done, "runs", 0),
      row(`one run alone: latency on Restate`, restateMs, "ms"),
      row(`one run alone: latency local`, localMs, "ms"),
      row(`time Restate adds per step (one run alone)`, (restateMs - localMs) / steps.length, "ms/step"),
    ]
  } finally {
    await proxy.close()
    killServices()
  }
}

/**
 * Restate's own cost, without our test fleet around it: the same cluster, one endpoint in this
 * process, five 20 ms steps that touch no file, no projection.
 */
const restateAlone = async (server: RestateServer): Promise<Row[]> => {
  const wait = async () => {
    await sleep(stepMs)
    return "ok"
  }
  const bare = pipeline({ id: "bench-bare", input: z.object({ index: z.number() }) })
    .step("one", fn(wait))
    .step("two", fn(wait))
    .step("three", fn(wait))
    .step("four", fn(wait))
    .step("five", fn(wait))
    .edges({ one: "two", two: "three", three: "four", four: "five", five: "done" })
  const endpoint = restateEndpoint({ pipelines: [bare], logger: () => {} })
  const listening = await endpoint.listen(0)
  try {
    await server.register(listening.url)
    const client = restateClient({ ingress: server.ingressUrl })
    const times: number[] = []
    for (let index = 0; index < 15; index++) {
      const started = performance.now()
      await client.run(bare, { index })
      times.push(performance.now() - started)
    }
    const localTimes: number[] = []
    for (let index = 0; index < 15; index++) {
      const started = performance.now()
      await bare.run({ index })
      localTimes.push(performance.now() - started)
    }
    const runs = Math.min(500, throughputRuns)
    const runIds: string[] = []
    const started = performance.now()
    await eachConcurrently(
      Array.from({ length: runs }, (_, index) => index),
      50,
      async (index) => void runIds.push(await client.start(bare, { index })),
    )
    await eachConcurrently(runIds, 200, async (runId) => void (await client.result(bare, runId)))
    const wallMs = performance.now() - started
    return [
      row(`${runs} five-step runs, same cluster, one in-process endpoint, no projection`, (runs * 1000) / wallMs, "runs/s"),
      row(`time Restate adds per step, in-process endpoint, no projection`, (median(times.slice(3)) - median(localTimes.slice(3))) / steps.length, "ms/step"),
    ]
  } finally {
    await listening.close()
  }
}

const crashRound = async (server: RestateServer, directory: string): Promise<Row[]> => {
  const { services, proxy } = await fleet(server, directory)
  const client = restateClient({ ingress: server.ingressUrl })
  const pipeline = chargePipeline(directory, stepMs, stepMs)
  const store = sqliteJournal({ path: join(directory, "runs.db") })
  const startsFile = join(directory, "starts.log")
  const starts = () =>
    linesOf(startsFile).map((line) => {
      const [runId = "", step = "", visit = "", pid = "", at = ""] = line.split(" ")
      return { runId, step, visit: Number(visit), pid: Number(pid), at: Number(at) }
    })
  try {
    const runIds: string[] = []
    await eachConcurrently(
      Array.from({ length: crashRuns }, (_, index) => index),
      50,
      async (amount) => void runIds.push(await client.start(pipeline, { amount })),
    )
    const killsDone: Array<{ pid: number; at: number; finished: Set<string>; resumed: number[] }> = []
    for (let round = 0; round < kills; round++) {
      // After more step starts, not after a fixed time, so the kill lands mid-run on any machine.
      const target = starts().length + 20 + Math.floor(Math.random() * 60)
      const deadline = Date.now() + 30_000
      while (starts().length < target && Date.now() < deadline) await sleep(5)
      const victim = services[round % 2] as ServiceProcess
      const pid = victim.pid ?? -1
      await victim.kill()
      const at = Date.now()
      // What the projection says had finished when the process died: none of it may run again.
      const finished = new Set<string>()
      for (const runId of runIds) for (const entry of await store.read(runId)) if (entry.type === "step.finished") finished.add(`${runId} ${entry.step}`)
      killsDone.push({ pid, at, finished, resumed: [] })
      await sleep(1000)
      await victim.restart()
    }
    const results = await Promise.all(runIds.map((runId) => client.result(pipeline, runId)))
    const lost = results.filter((result) => result.status !== "done").length
    const all = starts()
    // A start after the step's journaled finish (noted when its step.finished reached the store).
    const rerunFinished = rerunsOfFinished(directory).length
    const takeovers: number[] = []
    const firstTakeovers: number[] = []
    for (const kill of killsDone) {
      // Runs the dead process was executing: time until any process starts their next step.
      const byRun = new Map<string, Array<(typeof all)[number]>>()
      for (const start of all) byRun.set(start.runId, [...(byRun.get(start.runId) ?? []), start])
      for (const list of byRun.values()) {
        const before = list.filter((start) => start.at <= kill.at).at(-1)
        const after = list.find((start) => start.at > kill.at)
        if (before?.pid === kill.pid && after !== undefined && !kill.finished.has(`${before.runId} ${steps.at(-1)}`)) {
          takeovers.push(after.at - kill.at)
          kill.resumed.push(after.at - kill.at)
        }
      }
    }
    for (const kill of killsDone) if (kill.resumed.length > 0) firstTakeovers.push(Math.min(...kill.resumed))
    const ledger = linesOf(join(directory, "ledger.log")).map((line) => line.split(" ")[0])
    const duplicatedEffects = ledger.length - new Set(ledger).size
    const missingEffects = runIds.filter((runId) => !ledger.includes(`${runId}:charge:1`)).length
    let projectionProblems = 0
    for (const runId of runIds) {
      const entries: readonly JournalEntry[] = await store.read(runId)
      const finishedSteps = entries.flatMap((entry) => (entry.type === "step.finished" ? [entry.step] : []))
      if (entries.some((entry, index) => entry.seq !== index) || finishedSteps.join() !== steps.join()) projectionProblems++
    }
    return [
      row(`crash round: ${crashRuns} runs, ${kills} × kill -9 of a service process: runs lost`, lost, "runs", 0),
      row(`crash round: finished steps run again`, rerunFinished, "steps", 0),
      row(`crash round: charge effects twice / missing`, duplicatedEffects + missingEffects, "effects", 0),
      row(`crash round: runs whose projection is wrong (gaps, duplicates)`, projectionProblems, "runs", 0),
      row(
        `takeover after kill -9: first run of the dead process moving again, p50 of the ${firstTakeovers.length} kills that hit runs in flight`,
        percentile(firstTakeovers, 0.5) / 1000,
        "s",
      ),
      row(`takeover after kill -9: first run moving again, max`, Math.max(...firstTakeovers) / 1000, "s"),
      row(`takeover after kill -9: each run of the dead process moving again, p50 (${takeovers.length} runs)`, percentile(takeovers, 0.5) / 1000, "s"),
      row(`takeover after kill -9: each run moving again, max`, Math.max(...takeovers) / 1000, "s"),
    ]
  } finally {
    store.close()
    await proxy.close()
    killServices()
  }
}

/** Throughput, added latency, takeover and crash invariants on a 3-node Restate cluster. */
export const restateWorkload: Workload = {
  name: "restate",
  run: async () => {
    if (restateServerBinary() === undefined)
      return [unmeasuredRow("pipelines on Restate", "runs/s", `no restate-server binary for ${process.platform}-${process.arch}`)]
    const server = await startRestateServer({ nodes: 3 })
    const directories = [mkdtempSync(join(tmpdir(), "switchboard-bench-restate-")), mkdtempSync(join(tmpdir(), "switchboard-bench-restate-crash-"))]
    try {
      return [...(await throughput(server, directories[0] as string)), ...(await restateAlone(server)), ...(await crashRound(server, directories[1] as string))]
    } finally {
      killServices()
      await server.stop()
      for (const directory of directories) rmSync(directory, { recursive: true, force: true })
    }
  },
}
