// Pipelines the Restate service processes serve in the tests, the example and the benchmark: each
// step notes every time it starts (a synchronous file append, on disk before any kill), and the
// charge tool applies its effect once per idempotency key.
import { appendFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { callTool, fn, pipeline, tool } from "../../src/index.ts"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** One line of starts.log: a step visit started by process `pid` at `at`. */
export interface Start {
  readonly runId: string
  readonly step: string
  readonly visit: number
  readonly pid: number
  readonly at: number
}

/** Every step start the service processes noted in `directory`, in order. */
export const startsIn = (directory: string): Start[] =>
  linesOf(join(directory, "starts.log")).map((line) => {
    const [runId = "", step = "", visit = "", pid = "", at = ""] = line.split(" ")
    return { runId, step, visit: Number(visit), pid: Number(pid), at: Number(at) }
  })

/** When each step visit's `step.finished` reached the projection (after Restate journaled it), by `run step visit`. */
export const finishedIn = (directory: string): Map<string, number> =>
  new Map(
    linesOf(join(directory, "finished.log")).map((line) => {
      const [runId, step, visit, at] = line.split(" ")
      return [`${runId} ${step} ${visit}`, Number(at)] as const
    }),
  )

/** Starts of a step visit after Restate had journaled it as finished: must always be none. */
export const rerunsOfFinished = (directory: string): Start[] => {
  const finished = finishedIn(directory)
  return startsIn(directory).filter((start) => start.at > (finished.get(`${start.runId} ${start.step} ${start.visit}`) ?? Number.POSITIVE_INFINITY))
}

/** Lines of a log file, without the trailing empty one. */
export const linesOf = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line !== "")
    : []

/**
 * Five steps; the third charges through a tool that records its effect under the idempotency key
 * it is handed (a second call with the same key changes nothing), then takes `chargeMs`.
 */
export const chargePipeline = (directory: string, stepMs: number, chargeMs: number) => {
  // Which process started the step, and when: a start after the step's journaled finish is a re-run of a finished step.
  const note = (runId: string, step: string, visit: number) =>
    appendFileSync(join(directory, "starts.log"), `${runId} ${step} ${visit} ${process.pid} ${Date.now()}\n`)
  const timed = (name: string, ms: number) =>
    fn<string, { amount: number }, Record<string, unknown>>(async ({ runId, visit }) => {
      note(runId, name, visit)
      await sleep(ms)
      return `${name} ok`
    })
  const charge = tool({
    name: "charge",
    input: z.object({ amount: z.number() }),
    run: async ({ amount }, { idempotencyKey, runId, step }) => {
      note(runId, step, Number(idempotencyKey.split(":").at(-1)))
      const ledger = join(directory, "ledger.log")
      if (!linesOf(ledger).some((line) => line.startsWith(`${idempotencyKey} `))) appendFileSync(ledger, `${idempotencyKey} ${amount}\n`)
      await sleep(chargeMs)
      return { charged: amount, key: idempotencyKey }
    },
  })
  return pipeline({ id: "durable-charge", input: z.object({ amount: z.number() }) })
    .step("reserve", timed("reserve", stepMs))
    .step("price", timed("price", stepMs))
    .step(
      "charge",
      callTool(charge, ({ input }) => ({ amount: input.amount })),
    )
    .step("receipt", timed("receipt", stepMs))
    .step("notify", timed("notify", stepMs))
    .edges({ reserve: "price", price: "charge", charge: "receipt", receipt: "notify", notify: "done" })
}
