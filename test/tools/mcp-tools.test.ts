// mcpTools against a real MCP server built with the SDK's McpServer: as a stdio child process and
// over Streamable HTTP on 127.0.0.1, in agent runs driven by the scripted model.
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { ErrorCode, McpError as SdkError } from "@modelcontextprotocol/sdk/types.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, callTool, McpError, type McpToolset, maxSteps, mcpTools, memoryJournal, pipeline } from "../../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"
import { callFailure } from "../../src/tools/mcp-results.ts"
import { startHttpServer } from "./mcp-test-server.ts"

const serverScript = fileURLToPath(new URL("./mcp-test-server.ts", import.meta.url))
const stdio = (env: Record<string, string> = {}) => ({ command: process.execPath, args: [serverScript], env })

// The model calls the given tool once, then answers with what the tool said (or its error).
const callThenReport =
  (name: string, args: unknown): ScriptedReply =>
  (request) => {
    const last = request.messages.at(-1)
    if (last?.role === "tool") return `${last.isError === true ? "error" : "ok"}: ${last.content}`
    return { toolCalls: [{ id: "call_1", name, arguments: args }] }
  }

const agentPipeline = (tools: McpToolset["tools"]) =>
  pipeline({ id: "mcp-agent", input: z.object({ question: z.string() }) })
    .step("ask", agent({ model: "smart", prompt: ({ input }) => input.question, tools, stop: [maxSteps(3)] }))
    .edges({ ask: "done" })

const runAgent = async (tools: McpToolset["tools"], name: string, args: unknown) => {
  const model = scriptedModel([callThenReport(name, args)], { repeat: true })
  const journal = memoryJournal()
  const result = await agentPipeline(tools).run({ question: "?" }, { models: { smart: model }, journal })
  const calls = (await journal.read(result.runId)).flatMap((entry) => (entry.type === "tool.called" ? [entry] : []))
  return { result, calls, model }
}

describe("mcpTools over stdio", () => {
  let toolset: McpToolset
  beforeAll(async () => {
    toolset = await mcpTools(stdio())
  }, 30_000)
  afterAll(() => toolset.close())

  it("lists the server's tools under provider-safe keys, each with its JSON Schema as the input schema", () => {
    expect(toolset.server).toBe("test-tools")
    expect(Object.keys(toolset.tools).sort()).toEqual(["crash", "forecast", "order_lookup", "refuse", "slow"])
    const forecast = toolset.tools["forecast"]
    expect(forecast).toMatchObject({ name: "forecast", description: "The weather for a city", idempotent: true })
    expect(z.toJSONSchema(forecast?.input as z.ZodType)).toMatchObject({
      type: "object",
      properties: { city: { type: "string", minLength: 1 }, days: { type: "integer", minimum: 1, maximum: 7 } },
      required: ["city", "days"],
    })
    expect(toolset.tools["order_lookup"]?.idempotent).toBe(false)
  })

  it("runs in an agent: the model sees the schema, the call reaches the server, the text comes back", async () => {
    const { result, calls, model } = await runAgent(toolset.tools, "forecast", { city: "Oslo", days: 3 })
    expect(result).toMatchObject({ status: "done", output: "ok: Oslo: sunny for 3 days" })
    const offered = model.calls[0]?.request.tools?.find((definition) => definition.name === "forecast")
    expect(offered?.inputSchema).toMatchObject({ properties: { days: { maximum: 7 } } })
    expect(calls).toMatchObject([{ tool: "forecast", args: { city: "Oslo", days: 3 }, result: "Oslo: sunny for 3 days" }])
  })

  it("returns structured content as an object", async () => {
    const { result, calls } = await runAgent(toolset.tools, "order_lookup", { orderId: "A-1" })
    expect(calls[0]).toMatchObject({ result: { orderId: "A-1", status: "shipped" } })
    expect(result).toMatchObject({ output: 'ok: {"orderId":"A-1","status":"shipped"}' })
  })

  it("turns a result with isError into a ToolError the agent's model sees", async () => {
    const { result, calls } = await runAgent(toolset.tools, "refuse", { why: "closed on Sundays" })
    expect(calls[0]?.error).toMatchObject({ _tag: "ToolError", tool: "refuse", reason: "failed" })
    expect(calls[0]?.error?.message).toContain('MCP tool "refuse" on server "test-tools" failed: refused: closed on Sundays')
    expect(result).toMatchObject({ status: "done" })
    expect(result.status === "done" && String(result.output)).toMatch(/^error: error: MCP tool "refuse"/)
  })

  it("checks arguments against the schema before the call: invalid ones go back to the model", async () => {
    const { calls } = await runAgent(toolset.tools, "forecast", { city: "Oslo", days: 9 })
    expect(calls[0]?.error).toMatchObject({ _tag: "ToolError", reason: "invalid-arguments" })
    expect(calls[0]?.error?.message).toContain("days")
  })

  it("fails a call past the tool's timeout with a ToolError", async () => {
    const timed = await mcpTools({ ...stdio(), include: ["slow"], tools: { slow: { timeout: "300ms" } } })
    try {
      const { calls } = await runAgent(timed.tools, "slow", {})
      expect(calls[0]?.error).toMatchObject({ _tag: "ToolError", tool: "slow", reason: "failed" })
      expect(calls[0]?.error?.message).toContain("timed out after 300ms")
    } finally {
      await timed.close()
    }
  }, 30_000)

  it("a server that crashes fails the call in flight with its stderr, and the next call starts it again", async () => {
    const own = await mcpTools(stdio())
    try {
      const crashed = await runAgent(own.tools, "crash", {})
      expect(crashed.calls[0]?.error).toMatchObject({ _tag: "ToolError", tool: "crash", reason: "failed" })
      expect(crashed.calls[0]?.error?.message).toContain('MCP server "test-tools" disconnected during the call of "crash"')
      expect(crashed.calls[0]?.error?.message).toContain("boom: crashing on purpose")
      const again = await runAgent(own.tools, "forecast", { city: "Bergen", days: 1 })
      expect(again.calls[0]).toMatchObject({ result: "Bergen: sunny for 1 days" })
    } finally {
      await own.close()
    }
  }, 30_000)

  it("asks a person first for a tool with approval, and runs it as a callTool step", async () => {
    const approved = await mcpTools({ ...stdio(), tools: { forecast: { approval: true } } })
    try {
      const paused = await agentPipeline(approved.tools).run(
        { question: "?" },
        {
          journal: memoryJournal(),
          models: { smart: scriptedModel([callThenReport("forecast", { city: "Oslo", days: 2 })], { repeat: true }) },
        },
      )
      expect(paused, JSON.stringify(paused)).toMatchObject({ status: "awaiting-human", step: "ask" })
      const forecast = approved.tools["forecast"] as McpToolset["tools"][string]
      const step = pipeline({ id: "mcp-step", input: z.object({ city: z.string() }) })
        .step(
          "weather",
          callTool(forecast, ({ input }) => ({ city: input.city, days: 2 })),
        )
        .edges({ weather: "done" })
      expect(await step.run({ city: "Tromsø" })).toMatchObject({ status: "done", output: "Tromsø: sunny for 2 days" })
    } finally {
      await approved.close()
    }
  }, 30_000)

  it("after close(), and at the end of an `await using` block, calls fail with a ToolError", async () => {
    let kept: McpToolset["tools"] = {}
    {
      await using scoped = await mcpTools(stdio())
      kept = scoped.tools
    }
    const { calls } = await runAgent(kept, "forecast", { city: "Oslo", days: 1 })
    expect(calls[0]?.error?.message).toContain("the toolset was closed")
  }, 30_000)
})

describe("mcpTools over Streamable HTTP", () => {
  const seen: Array<{ name: string; args: unknown; meta: unknown; headers: unknown }> = []
  let http: Awaited<ReturnType<typeof startHttpServer>>
  let toolset: McpToolset
  beforeAll(async () => {
    http = await startHttpServer((name, args, meta, headers) => seen.push({ name, args, meta, headers }))
    toolset = await mcpTools({ url: http.url, headers: { authorization: "Bearer test-token" }, prefix: "shop_", include: ["order.lookup", "forecast"] })
  })
  afterAll(async () => {
    await toolset.close()
    await http.close()
  })

  it("offers only the included tools, prefixed", () => {
    expect(Object.keys(toolset.tools).sort()).toEqual(["shop_forecast", "shop_order_lookup"])
  })

  it("sends the headers and the call's idempotency key; an invalid call never reaches the server", async () => {
    seen.length = 0
    const invalid = await runAgent(toolset.tools, "shop_forecast", { city: "", days: 2 })
    expect(invalid.calls[0]?.error).toMatchObject({ reason: "invalid-arguments" })
    expect(seen).toEqual([])
    const { result, calls } = await runAgent(toolset.tools, "shop_order_lookup", { orderId: "B-2" })
    expect(calls[0]).toMatchObject({ result: { orderId: "B-2", status: "shipped" } })
    expect(seen).toMatchObject([{ name: "order.lookup", args: { orderId: "B-2" }, headers: { authorization: "Bearer test-token" } }])
    expect(seen[0]?.meta).toMatchObject({ "switchboard/idempotencyKey": `${result.runId}:ask:1:1:call_1` })
  })
})

describe("mcpTools over Streamable HTTP, server gone", () => {
  it("a server that stops answering fails the call with a ToolError naming it", async () => {
    const http = await startHttpServer()
    const toolset = await mcpTools({ url: http.url, include: ["forecast"] })
    try {
      await http.close()
      const { result, calls } = await runAgent(toolset.tools, "forecast", { city: "Oslo", days: 1 })
      expect(calls[0]?.error).toMatchObject({ _tag: "ToolError", tool: "forecast", reason: "failed" })
      expect(calls[0]?.error?.message).toContain('MCP call of "forecast" on server "test-tools" failed')
      expect(result).toMatchObject({ status: "done" })
    } finally {
      await toolset.close()
    }
  })
})

describe("mcpTools protocol errors", () => {
  const where = { server: "s", tool: "t.x", key: "t_x", retryable: true, stderr: "" }
  it.each([
    [new SdkError(ErrorCode.InvalidParams, "missing field a"), { reason: "invalid-arguments", retryable: false }, "rejected the arguments"],
    [
      new SdkError(ErrorCode.InvalidParams, "Structured content does not match the tool's output schema"),
      { reason: "invalid-output", retryable: false },
      "off its output schema",
    ],
    [new SdkError(ErrorCode.MethodNotFound, "Method not found"), { reason: "failed", retryable: false }, "protocol error -32601"],
    [new SdkError(ErrorCode.RequestTimeout, "Request timed out"), { reason: "failed", retryable: true }, "timed out"],
  ] as const)("maps %s to a ToolError", (error, expected, words) => {
    const mapped = callFailure(error, where)
    expect(mapped).toMatchObject({ _tag: "ToolError", tool: "t_x", ...expected })
    expect(mapped.message).toContain(words)
    expect(mapped.message).toContain('"t.x"')
  })
})

describe("mcpTools bad servers", () => {
  const failure = async (promise: Promise<unknown>): Promise<McpError> => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).toBeInstanceOf(McpError)
    return error as McpError
  }

  it("a command that does not exist is a connect error naming the server", async () => {
    const error = await failure(mcpTools({ command: "no-such-mcp-server-command", name: "ghost" }))
    expect(error).toMatchObject({ part: "connect", server: "ghost" })
    expect(error.message).toContain('cannot connect to MCP server "ghost": command not found')
  })

  it("a server that exits before answering is a connect error with its stderr", async () => {
    const error = await failure(mcpTools({ ...stdio({ MCP_TEST_MODE: "exit-early" }), name: "early" }))
    expect(error).toMatchObject({ part: "connect", server: "early" })
    expect(error.message).toContain("cannot start: missing config file")
  }, 30_000)

  it("a tool whose input schema cannot be read is a schema error naming the tool", async () => {
    const error = await failure(mcpTools(stdio({ MCP_TEST_MODE: "bad-schema" })))
    expect(error).toMatchObject({ part: "schema", server: "bad-schema", tool: "broken" })
    expect(error.message).toContain('tool "broken" has an unusable input schema')
    expect(error.message).toContain("datetime")
  }, 30_000)

  it("an option naming a tool the server lacks is an options error listing what it has", async () => {
    const error = await failure(mcpTools({ ...stdio(), include: ["forecast", "nowcast"] }))
    expect(error).toMatchObject({ part: "options", tool: "nowcast" })
    expect(error.message).toContain("it lists: forecast, order.lookup")
  }, 30_000)

  it("a URL where no server listens is a connect error", async () => {
    const http = await startHttpServer()
    await http.close()
    const error = await failure(mcpTools({ url: http.url }))
    expect(error).toMatchObject({ part: "connect" })
    expect(error.message).toContain(`cannot connect to MCP server "${http.url}"`)
  })
})

describe("mcpTools loading", () => {
  it('import "switchboard" does not load the MCP SDK', async () => {
    const probe = `
      import { registerHooks } from "node:module"
      const loaded = []
      registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result } })
      await import(${JSON.stringify(new URL("../../src/index.ts", import.meta.url).href)})
      process.stdout.write(JSON.stringify(loaded))`
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", probe])
    const loaded = JSON.parse(stdout) as string[]
    expect(loaded.filter((url) => url.includes("/@modelcontextprotocol/"))).toEqual([])
    expect(loaded.some((url) => url.endsWith("/src/tools/mcp-tools.ts"))).toBe(true)
  })
})
