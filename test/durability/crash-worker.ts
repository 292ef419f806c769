// A worker process for the crash tests: executes the "crashy" pipeline from a journal until killed.
// Usage: node crash-worker.ts <journal: sqlite:PATH | postgres:SCHEMA> <log-directory>
// Every step start is logged with this pid (to find steps run twice); the idempotent tool writes
// its effect only once per idempotency key, as a real idempotent tool would.
import { appendFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { callTool, fn, pipeline, postgresJournal, sqliteJournal, tool, type WorkerJournal, worker } from "../../src/index.ts"

const [journalArgument = "", logDirectory = ""] = process.argv.slice(2)
const executions = join(logDirectory, "executions.log")
const effects = join(logDirectory, "effects.log")

// CRASH_STEP_SCALE stretches every step so that kills land mid-step on fast machines too.
const scale = Number(process.env["CRASH_STEP_SCALE"] ?? "1")
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms * scale))
const started = (runId: string, step: string, visit: number) => appendFileSync(executions, `${runId}:${step}:${visit} ${process.pid}\n`)

const charge = tool({
  name: "charge",
  input: z.object({ amount: z.number() }),
  idempotent: true,
  run: async ({ amount }, { idempotencyKey, runId, step }) => {
    started(runId, step, Number(idempotencyKey.split(":").at(-1)))
    await pause(Math.random() * 15)
    const done = existsSync(effects) && readFileSync(effects, "utf8").split("\n").includes(idempotencyKey)
    if (!done) appendFileSync(effects, `${idempotencyKey}\n`)
    await pause(Math.random() * 15)
    return { receipt: `${idempotencyKey}:${amount}` }
  },
})

const step = (name: string, compute: (previous: number) => number) =>
  fn(async ({ runId, visit, steps, input }: { runId: string; visit: number; steps: Record<string, unknown>; input: { amount: number } }) => {
    started(runId, name, visit)
    await pause(Math.random() * 20)
    return compute((steps["prepare"] as number | undefined) ?? input.amount)
  })

export const crashy = pipeline({ id: "crashy", input: z.object({ amount: z.number() }) })
  .step(
    "prepare",
    step("prepare", (amount) => amount * 2),
  )
  .step(
    "charge",
    callTool(charge, ({ steps }) => ({ amount: steps.prepare ?? 0 })),
  )
  .step(
    "confirm",
    step("confirm", (amount) => amount + 1),
  )
  .edges({ prepare: "charge", charge: "confirm", confirm: "done" })

const open = (): WorkerJournal => {
  if (journalArgument.startsWith("sqlite:")) return sqliteJournal({ path: journalArgument.slice("sqlite:".length) })
  if (journalArgument.startsWith("postgres:")) return postgresJournal({ schema: journalArgument.slice("postgres:".length) }) as unknown as WorkerJournal
  throw new Error(`unknown journal ${journalArgument}`)
}

if (import.meta.filename === process.argv[1]) {
  worker({
    journal: open(),
    pipelines: [crashy],
    concurrency: 5,
    pollMs: 50,
    onError: (runId, error) => process.stderr.write(`run ${runId}: ${String(error)}\n`),
  })
  process.stdout.write("ready\n")
}
