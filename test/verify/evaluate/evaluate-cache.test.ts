// A response cache makes re-running an evaluation free: `evaluate({ modelCache })` and
// `switchboard eval --cache FILE`.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { z } from "zod"
import { evalCommand } from "../../../src/cli/eval-command.ts"
import { evaluate, exact, llm, type Model, memoryModelCache, pipeline } from "../../../src/index.ts"

const folders: string[] = []
afterEach(() => {
  delete process.env["SWITCHBOARD_TEST_CALLS"]
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})
const temporaryFolder = () => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-eval-cache-"))
  folders.push(folder)
  return folder
}

describe("evaluate with a response cache", () => {
  it("a re-run with changed scorers calls no model and scores the same answers", async () => {
    let calls = 0
    const upper: Model = {
      provider: "test",
      model: "upper-1",
      generate: async (request) => {
        calls += 1
        return { text: String(request.messages.at(-1)?.content ?? "").toUpperCase(), usage: { inputTokens: 7, outputTokens: 2 } }
      },
    }
    const shout = pipeline({ id: "shout", input: z.object({ text: z.string() }) })
      .step("say", llm({ model: "fast", prompt: ({ input }) => input.text }))
      .edges({ say: "done" })
    const data = Array.from({ length: 20 }, (_, index) => ({ input: { text: `row ${index}` }, expected: `ROW ${index}` }))
    const modelCache = memoryModelCache()
    const first = await evaluate({ pipeline: shout, data, models: { fast: upper }, modelCache, scorers: { same: exact({ actual: ({ steps }) => steps.say }) } })
    const second = await evaluate({
      pipeline: shout,
      data,
      models: { fast: upper },
      modelCache,
      scorers: { lower: exact({ actual: ({ steps }) => steps.say?.toLowerCase(), expected: ({ row }) => String(row.expected).toLowerCase() }) },
    })
    expect(calls).toBe(20)
    expect(first.scorers["same"]?.mean).toBe(1)
    expect(second.scorers["lower"]?.mean).toBe(1)
    expect(second.rows.every((row) => row.inputTokens === 0)).toBe(true)
  })

  it("switchboard eval --cache FILE: the second run answers every row from the file", async () => {
    const folder = temporaryFolder()
    const data = join(folder, "rows.jsonl")
    writeFileSync(data, ['{"input":{"text":"a"},"expected":"A"}', '{"input":{"text":"b"},"expected":"B"}', '{"input":{"text":"c"},"expected":"C"}'].join("\n"))
    const callsFile = join(folder, "calls.txt")
    process.env["SWITCHBOARD_TEST_CALLS"] = callsFile
    const cache = join(folder, "cache", "model-cache.db")
    const lines: string[] = []
    const output = { out: (line: string) => lines.push(line), error: (line: string) => lines.push(line) }
    const pipelineFile = fileURLToPath(new URL("fixtures/counted.pipeline.ts", import.meta.url))
    expect(await evalCommand(pipelineFile, { data, cache }, output)).toBe(0)
    expect(await evalCommand(pipelineFile, { data, cache }, output)).toBe(0)
    expect(readFileSync(callsFile, "utf8").trim().split("\n")).toHaveLength(3)
    expect(existsSync(cache)).toBe(true)
    expect(lines).toContain(`model cache: sqlite ${cache}`)
    expect(lines.join("\n")).toContain("| upper | 100.0% | 3 | 3 |")
  })
})
