import { describe, expect, it } from "vitest"
import { checkCommand, pathsCommand } from "../../src/cli/verify-commands.ts"

const capture = () => {
  const lines: string[] = []
  return { lines, output: { out: (line: string) => lines.push(line), error: (line: string) => lines.push(`error: ${line}`) } }
}

describe("switchboard check and paths", () => {
  it("check: no findings and exit 0 for a shipped machine", async () => {
    const { lines, output } = capture()
    expect(await checkCommand("machines/support-triage.machine.ts", {}, output)).toBe(0)
    expect(lines).toEqual(["✓ support-triage: no findings"])
  })

  it("paths: lists the paths and covers every transition, human decisions generated from their schemas", async () => {
    const { lines, output } = capture()
    expect(await pathsCommand("machines/invoice-extraction.machine.ts", {}, output)).toBe(0)
    expect(lines.at(-1)).toBe("10 paths; transitions covered 14/14")
    expect(lines.some((line) => line.startsWith("done    extract → validate → record → done"))).toBe(true)
  })

  it("paths --json: paths and coverage as JSON", async () => {
    const { lines, output } = capture()
    await pathsCommand("machines/support-triage.machine.ts", { json: true }, output)
    const parsed = JSON.parse(lines.join("\n")) as { paths: unknown[]; coverage: { uncovered: unknown[] } }
    expect(parsed.paths.length).toBeGreaterThan(5)
    expect(parsed.coverage.uncovered).toEqual([])
  })
})
