// `switchboard show` tells a cached answer from a call, and shows how long a call queued.
import { describe, expect, it } from "vitest"
import { z } from "zod"
import { formatTimeline } from "../../src/cli/show-command.ts"
import { llm, type Model, memoryJournal, memoryModelCache, pipeline } from "../../src/index.ts"
import { modelLimiter } from "../../src/run/model-limits.ts"

const upper: Model = {
  provider: "test",
  model: "upper-1",
  generate: async (request) => ({ text: String(request.messages.at(-1)?.content ?? "").toUpperCase(), usage: { inputTokens: 4, outputTokens: 1 } }),
}
const shout = pipeline({ id: "shout", input: z.object({ text: z.string() }) })
  .step("say", llm({ model: "fast", prompt: ({ input }) => input.text }))
  .edges({ say: "done" })

describe("show: cached and queued model calls", () => {
  it("marks an answer from the response cache, and only that one", async () => {
    const journal = memoryJournal()
    const modelCache = memoryModelCache()
    const first = await shout.run({ text: "hi" }, { models: { fast: upper }, journal, modelCache })
    const second = await shout.run({ text: "hi" }, { models: { fast: upper }, journal, modelCache })
    const modelLine = async (runId: string) => formatTimeline(await journal.read(runId), { full: false }).find((line) => line.includes("model test/upper-1"))
    expect(await modelLine(first.runId)).not.toContain("cached")
    expect(await modelLine(second.runId)).toContain("model test/upper-1 (cached, no call)")
    expect(await modelLine(second.runId)).toContain("0 in / 0 out tokens")
  })

  it("shows the time a call waited for its model's limits", async () => {
    const journal = memoryJournal()
    // The first call holds the only slot until the second is seen waiting for it.
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => (open = resolve))
    const gated: Model = { ...upper, model: "gated-1", generate: async (request, options) => (await gate, upper.generate(request, options)) }
    const limits = { "test:gated-1": { inFlight: 1 } }
    const runs = Promise.all([
      shout.run({ text: "a" }, { models: { fast: gated }, journal, limits }),
      shout.run({ text: "b" }, { models: { fast: gated }, journal, limits }),
    ])
    const queue = modelLimiter("test:gated-1", { inFlight: 1 })
    for (let tries = 0; queue.stats.waiting === 0 && tries < 500; tries++) await new Promise((resolve) => setTimeout(resolve, 2))
    await new Promise((resolve) => setTimeout(resolve, 5))
    open()
    const lines = await Promise.all(
      (await runs).map(async (run) => formatTimeline(await journal.read(run.runId), { full: false }).find((each) => each.includes("model test/gated-1")) ?? ""),
    )
    // One of the two calls had the slot; the other waited for it.
    expect(lines.filter((line) => /queued \d/.test(line))).toHaveLength(1)
  })
})
