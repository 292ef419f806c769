// A worker process for the map crash test: executes the "crashy-map" pipeline from a SQLite
// journal until killed. Usage: node crash-map-worker.ts <sqlite path> <log-directory>
// Every item start is logged with this pid (to find items run twice); the idempotent tool writes
// its effect only once per idempotency key, as a real idempotent tool would.
import { appendFileSync, existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { callTool, map, pipeline, sqliteJournal, tool, worker } from "../../src/index.ts"

const [journalPath = "", logDirectory = ""] = process.argv.slice(2)
const executions = join(logDirectory, "executions.log")
const effects = join(logDirectory, "effects.log")
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const charge = tool({
  name: "charge",
  input: z.object({ amount: z.number() }),
  idempotent: true,
  run: async ({ amount }, { idempotencyKey }) => {
    appendFileSync(executions, `${idempotencyKey} ${process.pid}\n`)
    await pause(5 + Math.random() * 15)
    const done = existsSync(effects) && readFileSync(effects, "utf8").split("\n").includes(idempotencyKey)
    if (!done) appendFileSync(effects, `${idempotencyKey}\n`)
    await pause(Math.random() * 10)
    return `receipt-${amount}`
  },
})

export const itemCount = 12

export const crashyMap = pipeline({ id: "crashy-map", input: z.object({ base: z.number() }) })
  .step(
    "charges",
    map({
      over: ({ input }) => Array.from({ length: itemCount }, (_, index) => input.base + index),
      each: callTool(charge, ({ input }: { input: number }) => ({ amount: input })),
      concurrency: 3,
    }),
  )
  .edges({ charges: "done" })

if (import.meta.filename === process.argv[1]) {
  worker({
    journal: sqliteJournal({ path: journalPath }),
    pipelines: [crashyMap],
    concurrency: 2,
    pollMs: 50,
    onError: (runId, error) => process.stderr.write(`run ${runId}: ${String(error)}\n`),
  })
  process.stdout.write("ready\n")
}
