// One process of the SQLite fleet test, on a database file shared with other processes, until killed.
// Usage: node sqlite-fleet-process.ts <database> <log-directory>, with FLEET_ROLES naming what the
// process does (comma-separated): "worker" runs a worker(); "decider" decides every run waiting on
// review and resumes every running run nobody holds, as an operator's CLI `decide`/`resume` would.
// A process with both roles has two journals on the file, so its own claims are tested too.
// Logs, one line each, with this pid and the time: step starts (executions.log), every call of the
// non-idempotent tool (effects.log), every decide that returned (decisions.log), every run reported
// failed (failures.log) and every unexpected error (errors.log).
import { appendFileSync } from "node:fs"
import { join } from "node:path"
import { z } from "zod"
import { callTool, DecisionError, fn, human, pipeline, ResumeError, route, sqliteJournal, tool, worker } from "../../src/index.ts"

const [path = "", logDirectory = ""] = process.argv.slice(2)
const log = (file: string, key: string, detail = "") =>
  appendFileSync(join(logDirectory, file), `${key} ${process.pid} ${Date.now()}${detail === "" ? "" : ` ${detail}`}\n`)
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Not idempotent: every call is an effect, so a second execution of one visit shows in the log.
const charge = tool({
  name: "charge",
  input: z.object({ amount: z.number() }),
  run: async ({ amount }, { runId, step }) => {
    log("executions.log", `${runId}:${step}:1`)
    await pause(Math.random() * 30)
    log("effects.log", `${runId}:${step}:1`)
    await pause(Math.random() * 30)
    return { receipt: `${runId}:${amount}` }
  },
})

const logged = async <TOutput>(name: string, { runId, visit }: { readonly runId: string; readonly visit: number }, compute: () => TOutput) => {
  log("executions.log", `${runId}:${name}:${visit}`)
  await pause(Math.random() * 40)
  return compute()
}

export const fleet = pipeline({ id: "fleet", input: z.object({ amount: z.number(), review: z.boolean() }) })
  .step(
    "prepare",
    fn((context) => logged("prepare", context, () => 2)),
  )
  .step(
    "charge",
    callTool(charge, ({ steps }) => ({ amount: steps.prepare ?? 0 })),
  )
  .step("review", human({ decision: z.object({ approve: z.boolean() }) }))
  .step(
    "ship",
    fn((context) => logged("ship", context, () => "shipped")),
  )
  .edges({
    prepare: "charge",
    charge: { next: route(["review", "ship"], ({ input }) => (input.review ? "review" : "ship")) },
    review: "ship",
    ship: "done",
  })

// A healthy run must never be reported failed to the process that lost a race for it.
const report = (runId: string, result: unknown) => {
  const { status, error } = result as { status: string; error?: { message?: string } }
  if (status === "failed") log("failures.log", runId, JSON.stringify(error?.message ?? ""))
}

// The expected refusals of a process racing another for the same run.
const expected = (error: unknown) =>
  (error instanceof ResumeError && (error.reason === "claimed" || error.reason === "finished")) ||
  (error instanceof DecisionError && error.reason === "not-waiting")

const decider = async () => {
  const journal = sqliteJournal({ path })
  const inFlight = new Set<string>()
  const attempt = (runId: string, act: () => Promise<unknown>, decided: boolean) => {
    inFlight.add(runId)
    void act()
      .then(
        (result) => {
          if (decided) log("decisions.log", runId)
          report(runId, result)
        },
        (error: unknown) => expected(error) || log("errors.log", runId, JSON.stringify(String(error))),
      )
      .finally(() => inFlight.delete(runId))
  }
  for (;;) {
    for (const run of journal.runs()) {
      if (inFlight.size >= 4) break
      if (inFlight.has(run.runId)) continue
      if (run.status === "awaiting-human") attempt(run.runId, () => fleet.decide(run.runId, "review", { approve: true }, { journal }), true)
      else if (run.status === "running" && run.owner === undefined) attempt(run.runId, () => fleet.resume(run.runId, { journal }), false)
    }
    await pause(20)
  }
}

if (import.meta.filename === process.argv[1]) {
  const roles = (process.env["FLEET_ROLES"] ?? "worker").split(",")
  if (roles.includes("worker")) {
    worker({
      journal: sqliteJournal({ path }),
      pipelines: [fleet],
      concurrency: 4,
      pollMs: 50,
      onResult: (result) => report(result.runId, result),
      onError: (runId, error) => log("errors.log", runId === "" ? "-" : runId, JSON.stringify(String(error))),
    })
  }
  if (roles.includes("decider")) void decider()
  process.stdout.write("ready\n")
}
