import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { evalCommand } from "../../../src/cli/eval-command.ts"
import { UsageError } from "../../../src/cli/load-pipeline.ts"

const pipelineFile = fileURLToPath(new URL("fixtures/kind.pipeline.ts", import.meta.url))

const setup = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-eval-"))
  const data = join(folder, "rows.jsonl")
  writeFileSync(
    data,
    [
      '{"input":{"ticket":"money back"},"expected":"refund","expectPath":["classify","refund"]}',
      '{"input":{"ticket":"it will crash"},"expected":"bug","expectPath":["classify","answer"]}',
      '{"input":{"ticket":"crash, money"},"expected":"bug","expectPath":["classify","answer"]}',
      '{"input":{"ticket":"how do I log in"},"expected":"question","expectPath":["classify","answer"]}',
    ].join("\n"),
  )
  const lines: string[] = []
  const errors: string[] = []
  return { folder, data, lines, errors, output: { out: (line: string) => lines.push(line), error: (line: string) => errors.push(line) } }
}

describe("switchboard eval", () => {
  it("prints the summary, writes JSON and HTML reports, and passes against its own baseline", async () => {
    const { folder, data, lines, output } = setup()
    const json = join(folder, "report.json")
    const html = join(folder, "report.html")
    expect(await evalCommand(pipelineFile, { data, json, report: html }, output)).toBe(0)
    const text = lines.join("\n")
    expect(text).toContain("▶ eval kinds on 4 rows")
    expect(text).toContain("scorers: kind, path")
    expect(text).toContain("[##########] 4/4")
    expect(text).toContain("| kind | 75.0% | 4 | 3 |")
    expect(text).toContain("| path | 75.0% | 4 | 3 |")
    expect(text).not.toContain("## Rows")
    const report = JSON.parse(readFileSync(json, "utf8"))
    expect(report.scorers.kind).toEqual({ mean: 0.75, scored: 4, perfect: 3 })
    expect(readFileSync(html, "utf8")).toMatch(/^<!doctype html>/)
    expect(await evalCommand(pipelineFile, { data, baseline: json }, output)).toBe(0)
  })

  it("exits 1 and names each scorer that regressed beyond the threshold", async () => {
    const { folder, data, errors, output } = setup()
    const baseline = join(folder, "baseline.json")
    writeFileSync(baseline, JSON.stringify({ scorers: { kind: { mean: 1, scored: 4, perfect: 4 }, path: { mean: 0.76, scored: 4, perfect: 3 } } }))
    expect(await evalCommand(pipelineFile, { data, baseline, threshold: "0.02" }, output)).toBe(1)
    expect(errors).toEqual(["regression: kind 1 → 0.75 (-0.25), threshold 0.02"])
    expect(await evalCommand(pipelineFile, { data, baseline, threshold: "0.3" }, output)).toBe(0)
  })

  it("reports dataset and flag mistakes as usage errors naming the row", async () => {
    const { folder, data, output } = setup()
    const csv = join(folder, "rows.csv")
    writeFileSync(csv, 'input.ticket,expected\nmoney back,refund\n"never closed,bug\n')
    await expect(evalCommand(pipelineFile, { data: csv }, output)).rejects.toThrow(new UsageError(`${csv} line 3: a quoted field is never closed`))
    const wrongInput = join(folder, "wrong.jsonl")
    writeFileSync(wrongInput, '{"input":{"ticket":"a"}}\n{"input":{"text":"b"}}\n')
    await expect(evalCommand(pipelineFile, { data: wrongInput }, output)).rejects.toThrow(
      /wrong\.jsonl row 2: input does not match the input of pipeline "kinds"/,
    )
    await expect(evalCommand(pipelineFile, {}, output)).rejects.toThrow("eval needs --data FILE")
    await expect(evalCommand(pipelineFile, { data: csv, threshold: "lots" }, output)).rejects.toThrow('--threshold must be a number from 0 to 1, got "lots"')
    await expect(evalCommand(pipelineFile, { data: csv, baseline: join(folder, "none.json") }, output)).rejects.toThrow("--baseline file not found")
    await expect(evalCommand(pipelineFile, { data, scorers: data }, output)).rejects.toThrow(/cannot import/)
    await expect(
      evalCommand(pipelineFile, { data, scorers: fileURLToPath(new URL("../../../machines/support-triage.machine.ts", import.meta.url)) }, output),
    ).rejects.toThrow(/exports no `scorers`/)
  })
})
