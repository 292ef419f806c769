// Timing helpers shared by the workloads: warm up, repeat, take the median.
import type { Model } from "../src/index.ts"

/** One result row of a benchmark run. `target` is an upper bound: `met` is `value <= target`. */
export interface Row {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly target: number | null
  readonly met: boolean | null
}

/** A benchmark workload: a name and a function that measures and returns its rows. */
export interface Workload {
  readonly name: string
  readonly run: () => Promise<readonly Row[]>
}

/** How many runs a measurement makes. */
export interface Repetitions {
  /** Runs before measuring, so the JIT has compiled the hot paths. */
  readonly warmup: number
  /** Measured batches; the median batch is reported. */
  readonly batches: number
  /** Runs per batch. */
  readonly runsPerBatch: number
}

/** Defaults sized for a few seconds per measured subject; `BENCH_QUICK=1` shrinks them for smoke runs. */
export const defaultRepetitions: Repetitions =
  process.env["BENCH_QUICK"] === "1" ? { warmup: 20, batches: 3, runsPerBatch: 20 } : { warmup: 300, batches: 7, runsPerBatch: 300 }

/** Median of a non-empty list. */
export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((left, right) => left - right)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/**
 * Measures several subjects with interleaved batches (A, B, A, B, …) so that drift in the machine
 * (frequency scaling, GC pressure) hits every subject alike. Returns the median µs per run of each.
 */
export const compare = async <TName extends string>(
  subjects: Readonly<Record<TName, () => Promise<unknown>>>,
  repetitions: Repetitions = defaultRepetitions,
): Promise<Record<TName, number>> => {
  const names = Object.keys(subjects) as TName[]
  for (const name of names) for (let run = 0; run < repetitions.warmup; run++) await subjects[name]()
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<TName, number[]>
  for (let batch = 0; batch < repetitions.batches; batch++) {
    for (const name of names) {
      const started = performance.now()
      for (let run = 0; run < repetitions.runsPerBatch; run++) await subjects[name]()
      samples[name].push(((performance.now() - started) * 1000) / repetitions.runsPerBatch)
    }
  }
  return Object.fromEntries(names.map((name) => [name, median(samples[name])])) as Record<TName, number>
}

/** Rounds for display and JSON: two decimals are more than the noise allows. */
export const round = (value: number): number => Math.round(value * 100) / 100

/** A row with an upper-bound target (or none). */
export const row = (name: string, value: number, unit: string, target: number | null = null): Row => ({
  name,
  value: round(value),
  unit,
  target,
  met: target === null ? null : value <= target,
})

/** Resolves after `milliseconds` on a real timer. */
export const wait = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds))

/**
 * A model that answers "ok" after `latencyMs` on a timer. Not scriptedModel: its `.calls` log
 * would grow with every request and count as run memory.
 */
export const timerModel = (latencyMs: number): Model => ({
  provider: "bench",
  model: "timer",
  generate: () => new Promise((resolve) => setTimeout(() => resolve({ text: "ok" }), latencyMs)),
})
