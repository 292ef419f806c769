// Writes a benchmark run as JSON (for tools) and as a Markdown table (for people).
import { cpus, loadavg } from "node:os"
import type { Row } from "./measure.ts"

/** A whole benchmark run: its rows and the machine they were measured on. */
export interface Report {
  readonly date: string
  readonly node: string
  readonly cpu: string
  readonly cpuCount: number
  /** 1-minute load average when the run ended: above ~0.5 per CPU, other processes inflated the timings. */
  readonly loadAverage: number
  readonly rows: ReadonlyArray<Row & { readonly workload: string }>
}

/** Collects the environment around the rows of a run. */
export const createReport = (rows: Report["rows"]): Report => {
  const processors = cpus()
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: processors[0]?.model.trim() ?? "unknown",
    cpuCount: processors.length,
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    rows,
  }
}

const verdict = (met: boolean | null) => (met === null ? "" : met ? "met" : "NOT met")

/** The report as a Markdown table with the environment underneath. */
export const toMarkdown = (report: Report): string => {
  const lines = [
    "| workload | measurement | value | unit | target (at most) | met |",
    "| --- | --- | ---: | --- | ---: | --- |",
    ...report.rows.map((entry) => `| ${entry.workload} | ${entry.name} | ${entry.value} | ${entry.unit} | ${entry.target ?? ""} | ${verdict(entry.met)} |`),
  ]
  return `${lines.join("\n")}\n\nNode ${report.node}, ${report.cpu} (${report.cpuCount} CPUs, load ${report.loadAverage}), ${report.date}\n`
}

/** Only the rows with a target: the summary the README's "Performance" section shows. */
export const toTargetsMarkdown = (report: Report): string => toMarkdown({ ...report, rows: report.rows.filter((entry) => entry.target !== null) })

const sectionStart = "<!-- bench:targets:start -->"
const sectionEnd = "<!-- bench:targets:end -->"

/** Replaces the text between the README's bench markers with `table`; the README unchanged if it has none. */
export const withTargetsTable = (readme: string, table: string): string => {
  const start = readme.indexOf(sectionStart)
  const end = readme.indexOf(sectionEnd)
  if (start === -1 || end < start) return readme
  return `${readme.slice(0, start + sectionStart.length)}\n${table}${readme.slice(end)}`
}
