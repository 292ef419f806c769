// `npm run bench`: runs every workload, prints a table, writes bench/results/latest.{json,md}.
// `npm run bench -- <text>` runs only the workloads whose name contains <text> (and writes nothing).
import { readFile, writeFile } from "node:fs/promises"
import { createReport, type Report, toMarkdown, toTargetsMarkdown, withTargetsTable } from "./report.ts"
import { workloads } from "./workloads/index.ts"

const filter = process.argv[2]
const selected = workloads.filter((workload) => filter === undefined || workload.name.includes(filter))
const rows: Array<Report["rows"][number]> = []
for (const workload of selected) {
  process.stderr.write(`running: ${workload.name}\n`)
  for (const entry of await workload.run()) rows.push({ workload: workload.name, ...entry })
}
const report = createReport(rows)
const markdown = toMarkdown(report)
process.stdout.write(markdown)
if (filter === undefined) {
  const results = new URL("./results/", import.meta.url)
  await writeFile(new URL("latest.json", results), `${JSON.stringify(report, null, 2)}\n`)
  await writeFile(new URL("latest.md", results), `# Benchmark results\n\n${markdown}`)
  // The README's "Performance" section shows the rows with a target from this same run.
  const readme = new URL("../README.md", import.meta.url)
  await writeFile(readme, withTargetsTable(await readFile(readme, "utf8"), toTargetsMarkdown(report)))
}
