import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { vizCommand } from "../../../src/cli/viz-command.ts"
import { agent, chartOf, fn, maxSteps, parallel, pipeline, tool, toSvg } from "../../../src/index.ts"
import { machinePath } from "./fixtures.ts"

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: ({ id }) => ({ id }) })
const stockAgent = pipeline({ id: "stock-agent", input: z.object({ id: z.string() }) })
  .step(
    "check",
    agent({ model: "smart", prompt: ({ input }) => `Check ${input.id}`, tools: { lookup }, output: z.object({ stock: z.number() }), stop: [maxSteps(3)] }),
  )
  .edges({ check: "done" })
const brief = pipeline({ id: "brief", input: z.object({ doc: z.string() }) })
  .step("both", parallel({ branches: { legal: fn(() => "legal"), tech: fn(() => "tech") } }))
  .edges({ both: "done" })

const directories: string[] = []
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

describe("the chart's sub-charts and its SVG", () => {
  it("reads an agent's turns and a parallel step's regions from the machine, and draws them inside the step's box", () => {
    const agentNode = chartOf(stockAgent).nodes.find((node) => node.name === "check")
    expect(agentNode?.inner?.map((state) => state.name)).toEqual(expect.arrayContaining(["thinking", "callingTools", "finished"]))
    expect(agentNode?.innerEdges).toEqual(expect.arrayContaining([{ from: "callingTools", to: "thinking" }]))
    const parallelNode = chartOf(brief).nodes.find((node) => node.name === "both")
    const branches = parallelNode?.inner?.find((state) => state.name === "branches")
    expect(branches).toMatchObject({ parallel: true, children: [{ name: "legal" }, { name: "tech" }] })
    const svg = toSvg(brief)
    expect(svg).toMatch(/^<svg [^>]*>\n<style>/)
    expect(svg).toContain('data-state="both/branches/legal"')
    expect(svg).toContain('class="region"')
    expect(toSvg(stockAgent)).toContain('data-state="check/thinking"')
  })

  it("viz --svg writes the chart alone, and prints no Mermaid then", async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-svg-"))
    directories.push(directory)
    const out: string[] = []
    const notices: string[] = []
    const path = join(directory, "triage.svg")
    expect(
      await vizCommand(machinePath("support-triage.machine.ts"), { svg: path }, { out: (line) => out.push(line), error: (line) => notices.push(line) }),
    ).toBe(0)
    expect(out).toEqual([])
    expect(notices).toEqual([`wrote ${path}`])
    const written = readFileSync(path, "utf8")
    expect(written).toContain('data-step="classify"')
    expect(written).toContain("<style>")
  })
})
