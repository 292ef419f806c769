import type { Regression } from "./baseline.ts"
import type { EvalReport, RowResult } from "./evaluate.ts"

const percent = (value: number | null) => (value === null ? "n/a" : `${(value * 100).toFixed(1)}%`)
const money = (value: number) => `$${value.toFixed(value < 0.01 ? 6 : 4)}`
const brief = (value: unknown, limit = 60) => {
  const text = value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)
  return text.length > limit ? `${text.slice(0, limit)}…` : text
}
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ")
const rowName = (row: RowResult) => row.id ?? String(row.row)

/**
 * The report as Markdown: totals, scorer means, transitions never exercised, regressions
 * (when given) and one table line per row.
 *
 * @example
 * writeFileSync("eval.md", toMarkdownReport(report))
 */
export const toMarkdownReport = (report: EvalReport, regressions: readonly Regression[] = []): string => {
  const { totals } = report
  const scorers = Object.keys(report.scorers)
  const lines = [
    `# Evaluation of \`${report.pipeline}\``,
    "",
    `${totals.rows} rows in ${(report.durationMs / 1000).toFixed(1)}s (concurrency ${report.concurrency}): ${totals.done} done, ${totals.failed} failed, ${totals.stopped} stopped, ${totals.awaitingHuman} awaiting a person; ${totals.retries} retries; ${totals.inputTokens} input + ${totals.outputTokens} output tokens, ${money(totals.costUsd)}; latency mean ${totals.meanLatencyMs}ms, p95 ${totals.p95LatencyMs}ms.`,
    "",
    "| scorer | mean | scored | perfect |",
    "| --- | --- | --- | --- |",
    ...scorers.map((name) => {
      const summary = report.scorers[name]
      return `| ${cell(name)} | ${percent(summary?.mean ?? null)} | ${summary?.scored ?? 0} | ${summary?.perfect ?? 0} |`
    }),
    "",
    `Transition coverage: ${report.coverage.covered.length}/${report.coverage.declared} (${percent(report.coverage.ratio)}).`,
    ...(report.coverage.uncovered.length === 0
      ? []
      : ["Never exercised:", ...report.coverage.uncovered.map((transition) => `- ${transition.from} → ${transition.to}`)]),
    ...(regressions.length === 0
      ? []
      : ["", "## Regressions", ...regressions.map((regression) => `- ${regression.scorer}: ${percent(regression.baseline)} → ${percent(regression.current)}`)]),
    "",
    "## Rows",
    "",
    `| row | status | ${scorers.map(cell).join(" | ")} | steps taken | output | error |`,
    `| --- | --- | ${scorers.map(() => "---").join(" | ")} | --- | --- | --- |`,
    ...report.rows.map(
      (row) =>
        `| ${cell(rowName(row))} | ${row.status} | ${scorers
          .map((name) => {
            const verdict = row.scores[name]
            return verdict === null || verdict === undefined ? "–" : verdict.score === 1 ? "1" : cell(`${verdict.score} (${brief(verdict.reason, 50)})`)
          })
          .join(" | ")} | ${cell(row.path.join(" → "))} | ${cell(brief(row.output))} | ${cell(row.error ?? "")} |`,
    ),
    "",
  ]
  return lines.join("\n")
}

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;")

/**
 * The report as one self-contained HTML page (inline CSS, no scripts, nothing loaded from
 * elsewhere): totals, scorer means, coverage, regressions and every row with its scores and reasons.
 *
 * @example
 * writeFileSync("eval.html", toHtmlReport(report))
 */
export const toHtmlReport = (report: EvalReport, regressions: readonly Regression[] = []): string => {
  const { totals } = report
  const scorers = Object.keys(report.scorers)
  const scoreCell = (row: RowResult, name: string) => {
    const verdict = row.scores[name]
    if (verdict === null || verdict === undefined) return `<td class="na">–</td>`
    const tone = verdict.score >= 1 ? "pass" : verdict.score <= 0 ? "fail" : "part"
    return `<td class="${tone}" title="${escapeHtml(verdict.reason)}">${verdict.score}<small>${escapeHtml(brief(verdict.reason, 80))}</small></td>`
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation of ${escapeHtml(report.pipeline)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #d5d9e0;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f5f8}small{display:block;color:#5b6475;max-width:22rem}.pass{background:#e7f6ea}.fail{background:#fbe9e9}.part{background:#fdf5e2}.na{color:#999}
.regression{color:#b3261e;font-weight:600}code{background:#f3f5f8;padding:0 .2rem}
</style></head><body>
<h1>Evaluation of <code>${escapeHtml(report.pipeline)}</code></h1>
<p>${totals.rows} rows, ${escapeHtml(report.startedAt)}, ${(report.durationMs / 1000).toFixed(1)}s at concurrency ${report.concurrency}: ${totals.done} done, ${totals.failed} failed, ${totals.stopped} stopped, ${totals.awaitingHuman} awaiting a person. ${totals.retries} retries, ${totals.inputTokens} input + ${totals.outputTokens} output tokens, ${money(totals.costUsd)}. Latency mean ${totals.meanLatencyMs}ms, p95 ${totals.p95LatencyMs}ms.</p>
<table><tr><th>scorer</th><th>mean</th><th>scored</th><th>perfect</th></tr>
${scorers.map((name) => `<tr><td>${escapeHtml(name)}</td><td>${percent(report.scorers[name]?.mean ?? null)}</td><td>${report.scorers[name]?.scored ?? 0}</td><td>${report.scorers[name]?.perfect ?? 0}</td></tr>`).join("\n")}
</table>
${regressions.length === 0 ? "" : `<h2 class="regression">Regressions</h2><ul>${regressions.map((regression) => `<li class="regression">${escapeHtml(regression.scorer)}: ${percent(regression.baseline)} → ${percent(regression.current)}</li>`).join("")}</ul>`}
<h2>Transition coverage: ${report.coverage.covered.length}/${report.coverage.declared} (${percent(report.coverage.ratio)})</h2>
${report.coverage.uncovered.length === 0 ? "<p>Every declared transition was exercised.</p>" : `<p>Never exercised:</p><ul>${report.coverage.uncovered.map((transition) => `<li><code>${escapeHtml(transition.from)} → ${escapeHtml(transition.to)}</code></li>`).join("")}</ul>`}
<h2>Rows</h2>
<table><tr><th>row</th><th>status</th>${scorers.map((name) => `<th>${escapeHtml(name)}</th>`).join("")}<th>steps taken</th><th>output</th><th>tokens</th><th>latency</th><th>error</th></tr>
${report.rows.map((row) => `<tr><td>${escapeHtml(rowName(row))}</td><td>${row.status}</td>${scorers.map((name) => scoreCell(row, name)).join("")}<td>${escapeHtml(row.path.join(" → "))}</td><td>${escapeHtml(brief(row.output, 200))}</td><td>${row.inputTokens}+${row.outputTokens}</td><td>${row.latencyMs}ms</td><td>${escapeHtml(row.error ?? "")}</td></tr>`).join("\n")}
</table>
</body></html>
`
}
