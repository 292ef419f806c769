import { describe, expect, it } from "vitest"
import { z } from "zod"
import { callTool, llm, memoryJournal, pipeline, type RunEvent, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

const login = tool({
  name: "login",
  input: z.object({ user: z.string(), password: z.string() }),
  run: ({ user }) => ({ user, token: "Bearer abcdefghijklmnop" }),
})
const flow = pipeline({ id: "secrets", input: z.object({ user: z.string(), password: z.string() }) })
  .step(
    "login",
    callTool(login, ({ input }) => input),
  )
  .step("ask", llm({ model: "fast", prompt: ({ input }) => `Use key sk-live-0123456789abcdef for ${input.user}` }))
  .edges({ login: "ask", ask: "done" })

describe("redaction", () => {
  it("hides marked fields and API keys from call records, events and logs, keeping what a resume replays", async () => {
    const journal = memoryJournal()
    const seen: RunEvent[] = []
    const result = await flow.run(
      { user: "ada", password: "hunter2" },
      { journal, runId: "s", models: { fast: scriptedModel(["ok"]) }, redact: { keys: ["password"] }, onEvent: (event) => seen.push(event) },
    )
    expect(result).toMatchObject({ status: "done" })
    const journaled = JSON.stringify(await journal.read("s"))
    const observed = JSON.stringify(seen)
    // call records in the journal: masked
    const toolCall = (await journal.read("s")).find((entry) => entry.type === "tool.called")
    // `token` is a default secret name: masked whole, not only its bearer value
    expect(toolCall).toMatchObject({ args: { user: "ada", password: "[redacted]" }, result: { token: "[redacted]" } })
    expect(journaled).not.toContain("sk-live-0123456789abcdef")
    // observers never see the password or the keys at all
    expect(observed).not.toContain("hunter2")
    expect(observed).not.toContain("sk-live-0123456789abcdef")
    expect(observed).not.toContain("abcdefghijklmnop")
    // the run input stays exact in the journal: a resume replays it
    expect((await journal.read("s"))[0]).toMatchObject({ type: "run.started", input: { password: "hunter2" } })
  })
})
