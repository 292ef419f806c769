/**
 * The `npm start` demo: the support-triage machine (machines/support-triage.machine.ts) works
 * through five sample tickets offline, with a scripted model. Every step prints as it runs;
 * low-confidence tickets pause for review and a SIMULATED reviewer decides them; a results table
 * closes the run. Runs are journaled to `.switchboard/runs.db`.
 *
 * Run: `npm start` (or `npx node examples/demo.ts`). Set NO_COLOR to turn colours off.
 */
import { mkdirSync } from "node:fs"
import supportTriage, { samples, scriptedModels } from "../machines/support-triage.machine.ts"
import { type Journal, type RunEvent, type RunResult, sqliteJournal } from "../src/index.ts"

/** Where the demo journals its runs. */
export const journalPath = ".switchboard/runs.db"

/** Options of the demo: where lines go, and whether to colour them (default: when stdout is a terminal). */
export interface DemoOptions {
  readonly log?: (line: string) => void
  readonly color?: boolean
}

type Outcome = RunResult<NonNullable<(typeof supportTriage)["~steps"]>>

/** One ticket's row in the results table. */
export interface TicketReport {
  readonly name: string
  readonly result: Outcome
  readonly path: readonly string[]
  readonly retries: number
  readonly durationMs: number
}

const paint = (enabled: boolean) => {
  const wrap = (code: number) => (text: string) => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text)
  return { dim: wrap(2), bold: wrap(1), green: wrap(32), yellow: wrap(33), cyan: wrap(36), magenta: wrap(35), red: wrap(31) }
}

const clip = (text: string, width: number) => (text.length <= width ? text : `${text.slice(0, width - 1)}…`)

const outcomeOf = (result: Outcome): string => {
  switch (result.status) {
    case "done":
      return result.step === "escalate" ? `escalated to ${(result.output as { queue: string }).queue}` : `replied: ${JSON.stringify(result.output)}`
    case "awaiting-human":
      return `waiting on ${result.step} until ${new Date(result.deadline ?? 0).toISOString().slice(11, 16)} UTC`
    case "failed":
      return `failed: ${result.error.message}`
    case "stopped":
      return `stopped by ${result.stoppedBy.rule}`
  }
}

/**
 * Runs every sample ticket through support triage and prints steps, waits and a results table.
 *
 * @example
 * const reports = await main({ log: () => {} })
 */
export const main = async ({ log = console.log, color = process.stdout.isTTY === true && process.env["NO_COLOR"] === undefined }: DemoOptions = {}) => {
  const style = paint(color)
  mkdirSync(".switchboard", { recursive: true })
  // The journal is this one line: swap in `memoryJournal()` to keep nothing on disk.
  const journal: Journal & { close?: () => void } = sqliteJournal({ path: journalPath })
  // With OPENAI_API_KEY set, the real provider will plug in here as `fast`; offline, a script answers
  // (its first call is rate-limited, so the demo shows a retry).
  const models = scriptedModels({ rateLimitFirstCall: true })
  const reports: TicketReport[] = []

  log(style.bold(`switchboard demo: ${supportTriage.id}, ${samples.length} tickets, scripted model, journal ${journalPath}`))
  for (const [index, sample] of samples.entries()) {
    log("")
    log(style.bold(`[${index + 1}/${samples.length}] ${sample.name}`) + style.dim(` "${sample.input.ticket}"`))
    const path: string[] = supportTriage.stepNames.slice(0, 1)
    let retries = 0
    const onEvent = (event: RunEvent) => {
      switch (event.type) {
        case "step.started":
          return log(style.dim(`  … ${event.step}`))
        case "step.retried":
          retries++
          return log(style.yellow(`  ↻ ${event.step} attempt ${event.attempt} failed (${event.error.message}); retrying in ${Math.round(event.delayMs)}ms`))
        case "model.fallback":
          return log(style.yellow(`  ⇢ ${event.step}: ${event.from} failed, trying ${event.to}`))
        case "step.finished":
          return log(
            `  ${style.green("✓")} ${event.step.padEnd(12)} ${style.dim(`${String(event.durationMs).padStart(4)}ms`)}  ${clip(JSON.stringify(event.output), 70)} ${style.cyan(`→ ${event.next}`)}`,
          )
        case "step.failed":
          return log(style.red(`  ✗ ${event.step}: ${event.error.message}`))
        case "route.taken":
          if (event.to !== "done" && event.to !== "failed") path.push(event.to)
          return
        case "human.waiting":
          return log(style.magenta(`  ⏸ ${event.step} waits for a person: ${clip(event.prompt?.replaceAll("\n", " ") ?? "", 90)}`))
        case "human.decided":
          return log(`  ${style.green("✓")} ${event.step.padEnd(12)} ${style.dim("decided")} ${JSON.stringify(event.decision)}`)
        default:
          return
      }
    }
    const started = Date.now()
    let result: Outcome = await supportTriage.run(sample.input, { models, journal, onEvent })
    if (result.status === "awaiting-human") {
      const decision = sample.decisions?.review
      if (decision === undefined) {
        log(
          style.magenta(
            `  ⏸ SIMULATED REVIEWER (demo only) does not answer: run ${result.runId.slice(0, 8)} stays paused in the journal; after the 4h deadline \`switchboard worker\` takes it to escalate`,
          ),
        )
      } else {
        log(style.magenta(`  👤 SIMULATED REVIEWER (demo only) decides ${JSON.stringify(decision)}`))
        result = await supportTriage.decide(result.runId, "review", decision, { models, journal, onEvent })
      }
    }
    log(`  ${style.bold("→")} ${outcomeOf(result)}`)
    reports.push({ name: sample.name, result, path, retries, durationMs: Date.now() - started })
  }
  journal.close?.()

  log("")
  log(style.bold("Results"))
  const rows = reports.map((report, index) => [
    String(index + 1),
    report.name,
    report.result.status,
    report.path.join(" → "),
    String(report.retries),
    `${report.durationMs}ms`,
    clip(outcomeOf(report.result), 60),
  ])
  const header = ["#", "ticket", "status", "path", "retries", "time", "outcome"]
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd()
  log(style.bold(line(header)))
  log(line(widths.map((width) => "-".repeat(width))))
  for (const row of rows) log(line(row))
  log("")
  log(style.dim(`${reports.length} tickets, journal: ${journalPath}`))
  return reports
}

if (import.meta.filename === process.argv[1]) await main()
