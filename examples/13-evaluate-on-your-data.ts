/**
 * 13 — prove it on your data. `evaluate()` runs the support-triage pipeline
 * (machines/support-triage.machine.ts) on 40 labelled tickets (examples/data/support-tickets.jsonl:
 * each row has the ticket, the kind a person gave it, the steps it should go through, and what the
 * reviewer decides when the classifier is unsure), scores every run and prints a report:
 *  - `kind`: the classifier's kind equals the label (exact);
 *  - `path`: the run went through the labelled steps (expectPath);
 *  - `polite`: the answer thanks or apologises (regex).
 * It ends with the transitions of the pipeline no ticket exercised (add rows for those).
 *
 * Offline (default) the classifier is a scripted model whose answers are derived from the labels,
 * with four deliberate mistakes (see `mistakes`) so the scores show what a miss looks like. With
 * `OPENAI_API_KEY` (model `OPENAI_MODEL`, default `gpt-4.1-mini`) or `ANTHROPIC_API_KEY`
 * (`ANTHROPIC_MODEL`, default `claude-3-5-haiku-latest`) the real model classifies and answers.
 * Writes `eval-report.html` and `eval-report.json` next to where it runs when `--write` is given.
 *
 * Run: `npx node examples/13-evaluate-on-your-data.ts [--write]`
 * Same from the shell: `switchboard eval machines/support-triage.machine.ts --data examples/data/support-tickets.jsonl --report eval.html`
 */
import { writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import supportTriage from "../machines/support-triage.machine.ts"
import {
  anthropic,
  type EvalReport,
  type EvalRow,
  evaluate,
  exact,
  expectPath,
  loadDataset,
  type ModelRequest,
  type Models,
  openai,
  type PriceTable,
  regex,
  toHtmlReport,
  toMarkdownReport,
} from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** The shipped dataset. */
export const dataPath = fileURLToPath(new URL("data/support-tickets.jsonl", import.meta.url))

/** Where the offline classifier deliberately gets a ticket wrong: its kind and confidence instead of the label's. */
export const mistakes: Readonly<Record<string, { readonly kind: string; readonly confidence: number }>> = {
  t07: { kind: "question", confidence: 0.85 }, // a refund read as a question: wrong kind and wrong path
  t15: { kind: "other", confidence: 0.8 }, // wrong kind, same path
  t21: { kind: "bug", confidence: 0.9 }, // wrong kind, same path
  t22: { kind: "question", confidence: 0.55 }, // right kind, but unsure: it waits for a review nobody gives
}

/**
 * A scripted model that classifies each ticket as its label says (confidence 0.5 where the label's
 * path goes through review, else 0.92), except for `mistakes`, and answers like a support agent.
 *
 * @example
 * const models = { fast: labelledModel(await loadDataset(dataPath)) }
 */
export const labelledModel = (rows: readonly EvalRow[]) => {
  const byTicket = new Map(rows.map((row) => [(row.input as { ticket: string }).ticket, row]))
  const reply = (request: ModelRequest): ScriptedReply => {
    const text = request.messages.map((message) => message.content).join("\n")
    if (request.output !== undefined) {
      const row = [...byTicket].find(([ticket]) => text.includes(ticket))?.[1]
      const mistake = row?.id === undefined ? undefined : mistakes[row.id]
      const kind = mistake?.kind ?? String(row?.expected ?? "other")
      const confidence = mistake?.confidence ?? (row?.expectPath?.includes("review") === true ? 0.5 : 0.92)
      return { object: { kind, confidence, summary: `A ${kind} ticket` }, usage: { inputTokens: 60, outputTokens: 20 } }
    }
    const kind = /Kind: (\w+)/.exec(text)?.[1] ?? "other"
    const answer = text.includes("Refund issued")
      ? "We are sorry about that. Your refund is on its way."
      : text.includes("past the 30-day")
        ? "Sorry, this order is past the 30-day refund window. We can offer store credit."
        : `Thanks for reaching out about this ${kind}. We are on it.`
    return { text: answer, usage: { inputTokens: 80, outputTokens: 16 } }
  }
  return scriptedModel([reply], { name: "labelled", repeat: true })
}

/**
 * The models to evaluate with: a real provider when its key is set, else the labelled scripted model.
 *
 * @example
 * const { provider, models } = chooseModels(process.env, rows)
 */
export const chooseModels = (
  environment: NodeJS.ProcessEnv,
  rows: readonly EvalRow[],
): { readonly provider: string; readonly models: Models; readonly prices?: PriceTable } => {
  const setting = (name: string) => (environment[name]?.trim() === "" ? undefined : environment[name]?.trim())
  if (setting("OPENAI_API_KEY") !== undefined) return { provider: "openai", models: { fast: openai({ model: setting("OPENAI_MODEL") ?? "gpt-4.1-mini" }) } }
  if (setting("ANTHROPIC_API_KEY") !== undefined)
    return { provider: "anthropic", models: { fast: anthropic({ model: setting("ANTHROPIC_MODEL") ?? "claude-3-5-haiku-latest" }) } }
  // Made-up prices (USD per million tokens), so the offline report shows how cost adds up.
  return { provider: "scripted", models: { fast: labelledModel(rows) }, prices: { "scripted:labelled": { input: 0.4, output: 1.6 } } }
}

/** The scorers of this evaluation. */
export const scorers = {
  kind: exact<NonNullable<(typeof supportTriage)["~steps"]>>({ actual: ({ steps }) => steps.classify?.kind }),
  path: expectPath(),
  polite: regex(/\b(thanks|thank you|sorry)\b/i),
}

/** Options of this example's `main`. */
export interface EvaluateExampleOptions {
  readonly log?: (line: string) => void
  readonly environment?: NodeJS.ProcessEnv
  /** Write eval-report.html and eval-report.json into the current directory. */
  readonly write?: boolean
}

/**
 * Evaluates support-triage on the shipped tickets and prints the Markdown report.
 *
 * @example
 * const { report } = await main({ log: () => {} })
 */
export const main = async ({
  log = console.log,
  environment = process.env,
  write = process.argv.includes("--write"),
}: EvaluateExampleOptions = {}): Promise<{ readonly provider: string; readonly report: EvalReport }> => {
  const rows = await loadDataset(dataPath)
  const { provider, models, prices } = chooseModels(environment, rows)
  log(`evaluating ${supportTriage.id} on ${rows.length} tickets with ${provider} models`)
  const report = await evaluate({ pipeline: supportTriage, data: rows, scorers, models, ...(prices === undefined ? {} : { prices }), concurrency: 8 })
  log(toMarkdownReport(report))
  if (write) {
    writeFileSync("eval-report.html", toHtmlReport(report))
    writeFileSync("eval-report.json", `${JSON.stringify(report, null, 2)}\n`)
    log("wrote eval-report.html and eval-report.json")
  }
  return { provider, report }
}

if (import.meta.filename === process.argv[1]) await main()
