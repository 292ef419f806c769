// Concurrency (DESIGN.md): 10,000 runs of a 5-step pipeline started at once, each step waiting
// 20 ms on a timer, against a plain async loop doing the same waits (within 2x of its wall time),
// under 20 KB heap per in-flight run, heap back to baseline afterwards. Each measurement runs in a
// fresh child process started with --expose-gc (this file is also the child's script), so `gc()`
// exists and one subject's garbage does not land on another's heap numbers.
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { createActor, fromPromise, setup, toPromise } from "xstate"
import { z } from "zod"
import { fn, llm, pipeline } from "../../src/index.ts"
import { median, type Row, row, timerModel, type Workload, wait } from "../measure.ts"

const quick = process.env["BENCH_QUICK"] === "1"
const runs = quick ? 1_000 : 10_000
const stepCount = 5
const latencyMs = 20
const repetitions = quick ? 1 : 3
/** DESIGN.md targets: wall time ratio to the plain loop, KB per in-flight run, KB left after a GC. */
const ratioTarget = 2
const perRunTarget = 20
const retainedTarget = 1024

const model = timerModel(latencyMs)

const Input = z.object({ ticket: z.string() })

const llmPipeline = pipeline({ id: "bench-concurrency-llm", input: Input })
  .step("first", llm({ model: "fast", prompt: ({ input }) => `Read: ${input.ticket}` }))
  .step("second", llm({ model: "fast", prompt: ({ steps }) => `After ${steps.first}` }))
  .step("third", llm({ model: "fast", prompt: ({ steps }) => `After ${steps.second}` }))
  .step("fourth", llm({ model: "fast", prompt: ({ steps }) => `After ${steps.third}` }))
  .step("fifth", llm({ model: "fast", prompt: ({ steps }) => `After ${steps.fourth}` }))
  .edges({ first: "second", second: "third", third: "fourth", fourth: "fifth", fifth: "done" })

const waitStep = async () => {
  await wait(latencyMs)
  return "ok"
}
const fnPipeline = pipeline({ id: "bench-concurrency-fn", input: Input })
  .step("first", fn(waitStep))
  .step("second", fn(waitStep))
  .step("third", fn(waitStep))
  .step("fourth", fn(waitStep))
  .step("fifth", fn(waitStep))
  .edges({ first: "second", second: "third", third: "fourth", fourth: "fifth", fifth: "done" })

// The floor under switchboard's design: a bare XState machine, one state per step, each invoking a
// promise actor that calls the same model and assigns nothing but the answer. What switchboard adds
// on top of this (journal, policies, typed routing, Effect) is its own cost; this is XState's.
const bareMachine = setup({
  types: { context: {} as { previous: string }, input: {} as { ticket: string }, output: {} as string },
  actors: {
    call: fromPromise<string, { previous: string }>(
      async ({ input, signal }) => (await model.generate({ messages: [{ role: "user", content: `After ${input.previous}` }] }, { signal })).text,
    ),
  },
}).createMachine({
  context: ({ input }) => ({ previous: input.ticket }),
  initial: "step0",
  states: Object.fromEntries([
    ...Array.from({ length: stepCount }, (_, index) => [
      `step${index}`,
      {
        invoke: {
          src: "call",
          input: ({ context }: { context: { previous: string } }) => ({ previous: context.previous }),
          onDone: {
            target: index === stepCount - 1 ? "done" : `step${index + 1}`,
            actions: ({ context, event }: { context: { previous: string }; event: { output: string } }) => void (context.previous = event.output),
          },
        },
      },
    ]),
    ["done", { type: "final" }],
  ]) as never,
  output: ({ context }) => context.previous,
})

const expectDone = (result: { readonly status: string }) => {
  if (result.status !== "done") throw new Error(`benchmark run ended ${result.status}: ${JSON.stringify(result)}`)
}

/** One run of each subject: the same five 20 ms waits, through switchboard or by hand. */
const subjects = {
  loop: async (index: number) => {
    const signal = new AbortController().signal
    let previous = Input.parse({ ticket: `ticket ${index}` }).ticket
    for (let step = 0; step < stepCount; step++) {
      previous = (await model.generate({ messages: [{ role: "user", content: `After ${previous}` }] }, { signal })).text
    }
  },
  xstate: async (index: number) => {
    await toPromise(createActor(bareMachine, { input: Input.parse({ ticket: `ticket ${index}` }) }).start())
  },
  llm: async (index: number) => expectDone(await llmPipeline.run({ ticket: `ticket ${index}` }, { models: { fast: model } })),
  fn: async (index: number) => expectDone(await fnPipeline.run({ ticket: `ticket ${index}` })),
}
type SubjectName = keyof typeof subjects

/** What one child process measured for one subject. */
interface Measurement {
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakBytes: number
  readonly baselineBytes: number
  readonly retainedBytes: number
  readonly liveBytesPerRun: number
}

const collect = async () => {
  // Several times, with turns of the event loop between, so weak references and finalizers settle.
  for (let round = 0; round < 3; round++) {
    globalThis.gc?.()
    await wait(10)
  }
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

/** Live (not garbage) heap per in-flight run: a GC while runs wait on their first steps. */
const measureLive = async (subject: (index: number) => Promise<void>, count: number) => {
  const baselineBytes = await collect()
  let finished = 0
  const inFlight = Array.from({ length: count }, (_, index) => subject(index).then(() => void finished++))
  await wait(latencyMs / 2)
  globalThis.gc?.()
  const liveBytes = process.memoryUsage().heapUsed - baselineBytes
  const waiting = count - finished
  await Promise.all(inFlight)
  return liveBytes / waiting
}

/** The child's side: warm up, take a baseline, start every run at once while sampling the heap. */
const measureInChild = async (name: SubjectName, count: number): Promise<Measurement> => {
  const subject = subjects[name]
  if (globalThis.gc === undefined) throw new Error("the concurrency child needs --expose-gc")
  // A large warm-up, so code and object shapes that only many concurrent runs create are in the baseline.
  await Promise.all(Array.from({ length: Math.min(count, 2_000) }, (_, index) => subject(index)))
  const baselineBytes = await collect()
  let peakBytes = baselineBytes
  const sample = () => {
    peakBytes = Math.max(peakBytes, process.memoryUsage().heapUsed)
  }
  const sampler = setInterval(sample, 2)
  const cpuBefore = process.cpuUsage()
  const started = performance.now()
  let pending: Array<Promise<void>> | undefined = Array.from({ length: count }, (_, index) => subject(index))
  sample()
  await Promise.all(pending)
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  sample()
  clearInterval(sampler)
  pending = undefined
  const retainedBytes = (await collect()) - baselineBytes
  // Fewer runs suffice for the live size per run, and keep a GC of them short.
  const liveBytesPerRun = await measureLive(subject, Math.min(count, 2_000))
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, peakBytes, baselineBytes, retainedBytes, liveBytesPerRun }
}

const self = fileURLToPath(import.meta.url)
if (process.argv[1] === self) {
  const [name, count] = process.argv.slice(2)
  process.stdout.write(JSON.stringify(await measureInChild(name as SubjectName, Number(count))))
}

const measure = async (name: SubjectName): Promise<Measurement> => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", self, name, String(runs)], { maxBuffer: 1 << 20 })
  return JSON.parse(stdout) as Measurement
}

export const concurrencyWorkload: Workload = {
  name: "concurrency",
  run: async (): Promise<readonly Row[]> => {
    const names: SubjectName[] = ["loop", "xstate", "llm", "fn"]
    const samples = Object.fromEntries(names.map((name) => [name, [] as Measurement[]])) as Record<SubjectName, Measurement[]>
    // Interleaved, so drift in the machine's load hits every subject alike.
    for (let repetition = 0; repetition < repetitions; repetition++) for (const name of names) samples[name].push(await measure(name))
    const of = (name: SubjectName, field: keyof Measurement) => median(samples[name].map((sample) => sample[field]))
    const floorMs = stepCount * latencyMs
    const label = `${runs.toLocaleString("en")} runs × ${stepCount} steps × ${latencyMs} ms at once`
    const kilobytes = (bytes: number) => bytes / 1024
    const perRun = (name: SubjectName) => kilobytes((of(name, "peakBytes") - of(name, "baselineBytes")) / runs)
    return [
      row(`${label}: floor (${stepCount} × ${latencyMs} ms)`, floorMs, "ms"),
      row(`${label}: plain async loop, wall time`, of("loop", "wallMs"), "ms"),
      row(`${label}: bare XState machine (5 invoked promise actors), wall time`, of("xstate", "wallMs"), "ms"),
      row(`${label}: llm pipeline, wall time`, of("llm", "wallMs"), "ms"),
      row(`${label}: fn pipeline, wall time`, of("fn", "wallMs"), "ms"),
      row("llm pipeline / plain loop (wall time)", of("llm", "wallMs") / of("loop", "wallMs"), "x", ratioTarget),
      row("bare XState machine / plain loop (wall time): the floor of one actor per step", of("xstate", "wallMs") / of("loop", "wallMs"), "x"),
      row("llm pipeline / bare XState machine (wall time): switchboard's own share", of("llm", "wallMs") / of("xstate", "wallMs"), "x"),
      row("fn pipeline / plain loop (wall time)", of("fn", "wallMs") / of("loop", "wallMs"), "x"),
      row("llm pipeline / floor", of("llm", "wallMs") / floorMs, "x"),
      row("plain loop / floor", of("loop", "wallMs") / floorMs, "x"),
      row("llm pipeline: CPU time per run", (of("llm", "cpuMs") * 1000) / runs, "µs/run"),
      row("fn pipeline: CPU time per run", (of("fn", "cpuMs") * 1000) / runs, "µs/run"),
      row("bare XState machine: CPU time per run", (of("xstate", "cpuMs") * 1000) / runs, "µs/run"),
      row("plain loop: CPU time per run", (of("loop", "cpuMs") * 1000) / runs, "µs/run"),
      row("llm pipeline: peak heap per in-flight run", perRun("llm"), "KB", perRunTarget),
      row("fn pipeline: peak heap per in-flight run", perRun("fn"), "KB"),
      row("bare XState machine: peak heap per in-flight run", perRun("xstate"), "KB"),
      row("plain loop: peak heap per in-flight run", perRun("loop"), "KB"),
      row("llm pipeline: live heap per in-flight run (GC while waiting)", kilobytes(of("llm", "liveBytesPerRun")), "KB", perRunTarget),
      row("fn pipeline: live heap per in-flight run (GC while waiting)", kilobytes(of("fn", "liveBytesPerRun")), "KB"),
      row("bare XState machine: live heap per in-flight run (GC while waiting)", kilobytes(of("xstate", "liveBytesPerRun")), "KB"),
      row("plain loop: live heap per in-flight run (GC while waiting)", kilobytes(of("loop", "liveBytesPerRun")), "KB"),
      row("llm pipeline: heap retained after all runs and a GC", kilobytes(of("llm", "retainedBytes")), "KB", retainedTarget),
      row("fn pipeline: heap retained after all runs and a GC", kilobytes(of("fn", "retainedBytes")), "KB", retainedTarget),
      row("plain loop: heap retained after all runs and a GC", kilobytes(of("loop", "retainedBytes")), "KB"),
    ]
  },
}
