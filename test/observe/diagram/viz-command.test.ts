import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import { UsageError } from "../../../src/cli/load-pipeline.ts"
import { vizCommand } from "../../../src/cli/viz-command.ts"
import { sqliteJournal } from "../../../src/index.ts"
import { loadMachine, machinePath, sampleRun } from "./fixtures.ts"

const capture = () => {
  const out: string[] = []
  const error: string[] = []
  return { out, error, output: { out: (line: string) => out.push(line), error: (line: string) => error.push(line) } }
}

describe("vizCommand", () => {
  let directory: string
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-viz-"))
  })
  afterEach(() => rmSync(directory, { recursive: true, force: true }))

  const triage = machinePath("support-triage.machine.ts")

  it("prints Mermaid by default, one line per output call", async () => {
    const { out, error, output } = capture()
    expect(await vizCommand(triage, {}, output)).toBe(0)
    expect(out[0]).toBe("stateDiagram-v2")
    expect(out).toContain("    [*] --> classify")
    expect(out).toContain("    review : human ✋")
    expect(error).toEqual([])
  })

  it("writes an HTML page with --html, and Mermaid too with --mermaid", async () => {
    const file = join(directory, "triage.html")
    const { out, error, output } = capture()
    expect(await vizCommand(triage, { html: file, title: "Triage chart" }, output)).toBe(0)
    expect(out).toEqual([])
    expect(error).toEqual([`wrote ${file}`])
    const html = readFileSync(file, "utf8")
    expect(html).toContain("<title>Triage chart</title>")
    expect(html).toContain('data-step="lookupOrder"')
    const both = capture()
    await vizCommand(triage, { html: file, mermaid: true }, both.output)
    expect(both.out[0]).toBe("stateDiagram-v2")
  })

  it("highlights a run read from a SQLite journal", async () => {
    const path = join(directory, "runs.db")
    const journal = sqliteJournal({ path })
    const machine = await loadMachine("support-triage.machine.ts")
    const run = await sampleRun(machine, journal)
    journal.close()
    const runId = run[0]?.runId as string
    const file = join(directory, "run.html")
    const { out, output } = capture()
    await vizCommand(triage, { run: runId, journal: `sqlite:${path}`, html: file, mermaid: true }, output)
    expect(out.some((line) => line.startsWith("    class ") && line.endsWith(" visited"))).toBe(true)
    const html = readFileSync(file, "utf8")
    expect(html).toContain(`data-step="review" data-visit="1"`)
    expect(html).toMatch(/class="edge [^"]* taken" data-from="classify" data-to="review"/)
  })

  it("refuses what it cannot do with a UsageError", async () => {
    const { output } = capture()
    await expect(vizCommand(triage, { run: "r1" }, output)).rejects.toThrow(
      new UsageError("viz --run needs the journal the run is in: --journal sqlite:PATH or postgres:URL"),
    )
    await expect(vizCommand(triage, { journal: "sqlite:x.db" }, output)).rejects.toThrow(/only used with --run/)
    await expect(vizCommand(join(directory, "missing.ts"), {}, output)).rejects.toThrow(UsageError)
    const path = join(directory, "empty.db")
    await expect(vizCommand(triage, { run: "nope", journal: `sqlite:${path}` }, output)).rejects.toThrow(`no run "nope" in sqlite:${path}`)
    await expect(vizCommand(triage, { html: join(directory, "no", "such", "dir", "x.html") }, output)).rejects.toThrow(/cannot write the file/)
  })

  it("refuses a run of another pipeline", async () => {
    const path = join(directory, "runs.db")
    const journal = sqliteJournal({ path })
    const run = await sampleRun(await loadMachine("invoice-extraction.machine.ts"), journal)
    journal.close()
    const { output } = capture()
    await expect(vizCommand(triage, { run: run[0]?.runId as string, journal: `sqlite:${path}` }, output)).rejects.toThrow(
      /belongs to pipeline "invoice-extraction", not "support-triage"/,
    )
  })
})
