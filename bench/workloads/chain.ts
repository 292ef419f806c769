// Per-step orchestration overhead: a 20-step chain of trivial steps through switchboard, against
// a hand-written async loop that runs the same 20 functions (DESIGN.md: at most 15 µs per step).
import { assign, createActor, fromPromise, setup, toPromise } from "xstate"
import { z } from "zod"
import { type AnyStep, fn, llm, type Pipeline, pipeline } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"
import { compare, type Row, row, type Workload } from "../measure.ts"

/** Steps in the chain. */
export const chainLength = 20
/** DESIGN.md target for per-step orchestration overhead, in µs. */
export const overheadTarget = 15

const Input = z.object({ seed: z.number() })
type ChainInput = z.infer<typeof Input>

// The same trivial functions for both sides: each derives a number from the previous one.
const steps = Array.from({ length: chainLength }, (_, index) => (previous: number) => previous * 3 + index)
const nameOf = (index: number) => `step${index}`
const previousOf = (index: number, input: ChainInput, outputs: Readonly<Record<string, unknown>>) =>
  index === 0 ? input.seed : (outputs[nameOf(index - 1)] as number)

/** Builds a chain with the public builder; a loop loses the per-step typing, which a benchmark does not need. */
export const buildChain = (makeStep: (index: number) => AnyStep): Pipeline<ChainInput, Record<string, unknown>> => {
  let builder: { step: (name: string, step: AnyStep) => typeof builder; edges: (edges: Record<string, string>) => unknown } = pipeline({
    id: "bench-chain",
    input: Input,
  }) as never
  const edges: Record<string, string> = {}
  for (let index = 0; index < chainLength; index++) {
    builder = builder.step(nameOf(index), makeStep(index))
    edges[nameOf(index)] = index === chainLength - 1 ? "done" : nameOf(index + 1)
  }
  return builder.edges(edges) as Pipeline<ChainInput, Record<string, unknown>>
}

const fnChain = buildChain(
  (index) =>
    fn(({ input, steps: outputs }: { input: ChainInput; steps: Readonly<Record<string, unknown>> }) =>
      (steps[index] as (previous: number) => number)(previousOf(index, input, outputs)),
    ) as AnyStep,
)

const promptOf = (index: number, previous: unknown) => `step ${index}: ${String(previous)}`
const llmChain = buildChain(
  (index) =>
    llm({
      model: "fast",
      prompt: ({ input, steps: outputs }: { input: ChainInput; steps: Readonly<Record<string, unknown>> }) =>
        promptOf(index, index === 0 ? input.seed : outputs[nameOf(index - 1)]),
    }) as AnyStep,
)

// A zero-latency model; a fresh one per run so its call log does not grow across the benchmark.
const zeroLatencyModel = () => scriptedModel(["7"], { repeat: true })

const expectDone = (result: Awaited<ReturnType<Pipeline<ChainInput, Record<string, unknown>>["run"]>>) => {
  if (result.status !== "done") throw new Error(`benchmark chain ended ${result.status}: ${JSON.stringify(result)}`)
  return result.output
}

const expectedFinal = steps.reduce((value, step) => step(value), 1)

// The floor under switchboard's design: a bare XState machine with one state per step, each
// invoking a promise actor, its done event assigning the output and moving on.
const bareMachine = setup({
  types: { context: {} as { value: number }, input: {} as { seed: number }, output: {} as number },
  actors: {
    step: fromPromise<number, { index: number; value: number }>(async ({ input }) => (steps[input.index] as (previous: number) => number)(input.value)),
  },
}).createMachine({
  context: ({ input }) => ({ value: input.seed }),
  initial: nameOf(0),
  states: Object.fromEntries([
    ...steps.map((_, index) => [
      nameOf(index),
      {
        invoke: {
          src: "step",
          input: ({ context }: { context: { value: number } }) => ({ index, value: context.value }),
          onDone: {
            target: index === chainLength - 1 ? "done" : nameOf(index + 1),
            actions: assign({ value: ({ event }: { event: { output: number } }) => event.output }),
          },
        },
      },
    ]),
    ["done", { type: "final" }],
  ]) as never,
  output: ({ context }) => context.value,
})

/** The measured subjects, by name: each does one run and checks its result. */
export const subjects = {
  fnSwitchboard: async () => {
    const output = expectDone(await fnChain.run({ seed: 1 }))
    if (output !== expectedFinal) throw new Error(`fn chain returned ${String(output)}, expected ${expectedFinal}`)
  },
  fnLoop: async () => {
    let value = Input.parse({ seed: 1 }).seed
    for (const step of steps) value = await step(value)
    if (value !== expectedFinal) throw new Error(`loop returned ${value}, expected ${expectedFinal}`)
  },
  fnBareXState: async () => {
    const output = await toPromise(createActor(bareMachine, { input: { seed: 1 } }).start())
    if (output !== expectedFinal) throw new Error(`bare machine returned ${String(output)}, expected ${expectedFinal}`)
  },
  llmSwitchboard: async () => {
    expectDone(await llmChain.run({ seed: 1 }, { models: { fast: zeroLatencyModel() } }))
  },
  llmLoop: async () => {
    const model = zeroLatencyModel()
    const signal = new AbortController().signal
    let previous: unknown = Input.parse({ seed: 1 }).seed
    for (let index = 0; index < chainLength; index++) {
      previous = (await model.generate({ messages: [{ role: "user", content: promptOf(index, previous) }] }, { signal })).text
    }
  },
}

/** The chain workload: fn and llm chains, µs per step for each side, their difference and ratio. */
export const chainWorkload: Workload = {
  name: "per-step orchestration overhead",
  run: async (): Promise<readonly Row[]> => {
    const perRun = await compare(subjects)
    const perStep = (microseconds: number) => microseconds / chainLength
    const rowsOf = (kind: "fn" | "llm", switchboard: number, loop: number, target: number | null): Row[] => [
      row(`${kind} chain (${chainLength} steps): switchboard`, perStep(switchboard), "µs/step"),
      row(`${kind} chain (${chainLength} steps): async loop`, perStep(loop), "µs/step"),
      row(`${kind} chain (${chainLength} steps): overhead`, perStep(switchboard - loop), "µs/step", target),
      row(`${kind} chain (${chainLength} steps): ratio`, switchboard / loop, "x"),
    ]
    return [
      ...rowsOf("fn", perRun.fnSwitchboard, perRun.fnLoop, overheadTarget),
      row(`fn chain (${chainLength} steps): bare XState machine`, perStep(perRun.fnBareXState), "µs/step"),
      row(`fn chain (${chainLength} steps): switchboard minus bare XState`, perStep(perRun.fnSwitchboard - perRun.fnBareXState), "µs/step"),
      ...rowsOf("llm", perRun.llmSwitchboard, perRun.llmLoop, null),
    ]
  },
}
