// Fan-out (issue 13): one run mapping 1,000 items through an llm step with 20 ms model latency at
// concurrency 50, against the ideal wall time (1,000 / 50 × 20 ms = 400 ms) and a hand-written
// pool doing the same waits; and the live heap each in-flight item costs (the difference between
// 500 and 50 items in flight, over 450, so the run's fixed cost cancels out). Each measurement runs
// in a fresh child process with --expose-gc (this file is also the child's script).
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { z } from "zod"
import { llm, map, pipeline } from "../../src/index.ts"
import { median, type Row, row, timerModel, type Workload, wait } from "../measure.ts"

const items = 1_000
const latencyMs = 20
const concurrency = 50
const repetitions = process.env["BENCH_QUICK"] === "1" ? 1 : 3
const idealMs = (items / concurrency) * latencyMs
/** Wall time within 1.5x of the ideal; under 20 KB per in-flight item (the DESIGN.md budget of a whole run). */
const ratioTarget = 1.5
const perItemTarget = 20

const model = timerModel(latencyMs)

const Input = z.object({ documents: z.array(z.string()), concurrency: z.number() })
const summarise = llm({ model: "fast", prompt: ({ input }: { input: string }) => `Summarise: ${input}` })
const build = (cap: number) =>
  pipeline({ id: `bench-fanout-${cap}`, input: Input })
    .step("summaries", map({ over: ({ input }) => input.documents, each: summarise, concurrency: cap }))
    .edges({ summaries: "done" })
const pipelines = new Map([concurrency, 500].map((cap) => [cap, build(cap)]))
const documents = Array.from({ length: items }, (_, index) => `document ${index}`)

const runMap = async (cap: number) => {
  const result = await (pipelines.get(cap) as ReturnType<typeof build>).run({ documents, concurrency: cap }, { models: { fast: model } })
  if (result.status !== "done" || result.output.length !== items) throw new Error(`benchmark run ended ${result.status}`)
}

/** The same work by hand: a pool of `cap` workers taking the next document. */
const runPool = async (cap: number) => {
  const outputs = new Array<string>(items)
  let next = 0
  const signal = new AbortController().signal
  const worker = async () => {
    for (let index = next++; index < items; index = next++) {
      outputs[index] = (await model.generate({ messages: [{ role: "user", content: `Summarise: ${documents[index]}` }] }, { signal })).text
    }
  }
  await Promise.all(Array.from({ length: cap }, worker))
}

const collect = async () => {
  for (let round = 0; round < 3; round++) {
    globalThis.gc?.()
    await wait(10)
  }
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

/** Live heap while the first wave of items waits on the model, above an idle baseline. */
const liveWhileWaiting = async (cap: number) => {
  const baseline = await collect()
  const running = runMap(cap)
  await wait(latencyMs / 2)
  globalThis.gc?.()
  const live = process.memoryUsage().heapUsed - baseline
  await running
  return live
}

interface Measurement {
  readonly mapMs: number
  readonly poolMs: number
  readonly cpuMsPerItem: number
  readonly bytesPerItem: number
}

const measureInChild = async (): Promise<Measurement> => {
  if (globalThis.gc === undefined) throw new Error("the fanout child needs --expose-gc")
  await runMap(concurrency)
  await runMap(500)
  await runPool(concurrency)
  const cpuBefore = process.cpuUsage()
  let started = performance.now()
  await runMap(concurrency)
  const mapMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  started = performance.now()
  await runPool(concurrency)
  const poolMs = performance.now() - started
  const small = await liveWhileWaiting(concurrency)
  const large = await liveWhileWaiting(500)
  return { mapMs, poolMs, cpuMsPerItem: (cpu.user + cpu.system) / 1000 / items, bytesPerItem: (large - small) / (500 - concurrency) }
}

const self = fileURLToPath(import.meta.url)
if (process.argv[1] === self) process.stdout.write(JSON.stringify(await measureInChild()))

export const fanoutWorkload: Workload = {
  name: "fanout",
  run: async (): Promise<readonly Row[]> => {
    const samples: Measurement[] = []
    for (let repetition = 0; repetition < repetitions; repetition++) {
      const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", self], { maxBuffer: 1 << 20 })
      samples.push(JSON.parse(stdout) as Measurement)
    }
    const of = (field: keyof Measurement) => median(samples.map((sample) => sample[field]))
    const label = `map over ${items.toLocaleString("en")} items × ${latencyMs} ms at concurrency ${concurrency}`
    return [
      row(`${label}: ideal (${items} / ${concurrency} × ${latencyMs} ms)`, idealMs, "ms"),
      row(`${label}: wall time`, of("mapMs"), "ms"),
      row(`${label}: hand-written pool, wall time`, of("poolMs"), "ms"),
      row("map / ideal (wall time)", of("mapMs") / idealMs, "x", ratioTarget),
      row("map / hand-written pool (wall time)", of("mapMs") / of("poolMs"), "x"),
      row("map: CPU time per item", of("cpuMsPerItem") * 1000, "µs/item"),
      row("map: live heap per in-flight item (500 vs 50 in flight)", of("bytesPerItem") / 1024, "KB", perItemTarget),
    ]
  },
}
