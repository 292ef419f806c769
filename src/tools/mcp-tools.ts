// The public face of MCP tools: options, the toolset and its errors. Nothing here loads the MCP
// SDK or zod; `mcpTools()` imports `mcp-connection.ts` (which does) on its first call, so
// `import "switchboard"` stays light and the SDK stays an optional peer.

import type { DurationInput } from "../contract/duration.ts"
import type { ToolApproval } from "../definition/steps/approval.ts"
import type { Tool } from "../definition/steps/tool.ts"

export { McpError, type McpErrorPart } from "./mcp-error.ts"

/**
 * A server started as a child process speaking MCP over stdin/stdout. `env` is added to a small
 * safe default environment (PATH, HOME, …), as the SDK does; the child's stderr is kept (its last
 * lines appear in error messages), not printed.
 *
 * @example
 * const server: McpStdioServer = { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] }
 */
export interface McpStdioServer {
  readonly command: string
  readonly args?: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
}

/**
 * A server reached over MCP's Streamable HTTP transport.
 *
 * @example
 * const server: McpHttpServer = { url: "http://127.0.0.1:3001/mcp", headers: { authorization: `Bearer ${process.env.MCP_TOKEN}` } }
 */
export interface McpHttpServer {
  readonly url: string | URL
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * Per-tool settings, by the tool's name on the server. `idempotent` defaults to the server's
 * `readOnlyHint` or `idempotentHint` annotation.
 *
 * @example
 * const refund: McpToolOptions = { approval: true, timeout: "20s", idempotent: false }
 */
export interface McpToolOptions {
  readonly approval?: ToolApproval<Record<string, unknown>>
  readonly timeout?: DurationInput
  readonly idempotent?: boolean
  /** Replaces the server's description in what the model sees. */
  readonly description?: string
}

/**
 * Options of {@link mcpTools}: the server, and which of its tools to offer, under which names.
 *
 * @example
 * const options: McpToolsOptions = { command: "node", args: ["weather-server.ts"], include: ["forecast"], prefix: "weather_" }
 */
export type McpToolsOptions = (McpStdioServer | McpHttpServer) & {
  /** Names this server in errors (default: the name the server reports, else the command or URL). */
  readonly name?: string
  /** Only these tools (by their name on the server); default all. A name the server lacks is an `options` error. */
  readonly include?: readonly string[]
  /** Prepended to each tool's key (`github_` → `github_create_issue`), to keep two servers' tools apart. */
  readonly prefix?: string
  /** Defaults for every tool of this server; `tools` overrides them per tool. */
  readonly approval?: ToolApproval<Record<string, unknown>>
  readonly timeout?: DurationInput
  readonly tools?: Readonly<Record<string, McpToolOptions>>
  /** Bounds connecting and listing the tools (default 30 s). */
  readonly connectTimeout?: DurationInput
}

/** An MCP tool as switchboard sees it: its arguments are the JSON object its schema describes. */
export type McpTool = Tool<Record<string, unknown>, unknown>

/**
 * An open connection to one MCP server and its tools, keyed as the model sees them (letters,
 * digits, `_` and `-`; other characters of a server's name become `_`). One toolset serves any
 * number of steps and runs; close it when you are done (`close()`, or `await using`). After a
 * crash or disconnect, the call that was in flight fails with a `ToolError` and the next call
 * reconnects.
 *
 * @example
 * await using weather = await mcpTools({ command: "node", args: ["weather-server.ts"] })
 * const forecaster = agent({ model: "smart", prompt: ({ input }) => input.question, tools: weather.tools })
 */
export interface McpToolset extends AsyncDisposable {
  readonly server: string
  readonly tools: Readonly<Record<string, McpTool>>
  /** Closes the connection (ends a stdio server's process). Calls after it fail with a `ToolError`. */
  close(): Promise<void>
}

/**
 * Connects to an MCP server (a stdio child process, or a Streamable HTTP URL), lists its tools and
 * returns them as switchboard tools for `agent({ tools })` and `callTool`. Each tool's JSON Schema
 * becomes its `input` schema, so arguments are checked before they reach the server; text results
 * come back as a string, structured content as its object, and a result with `isError` (or a lost
 * connection, a protocol error, a timeout) fails the call with a `ToolError` the agent sees. Each
 * call carries the step's idempotency key in `_meta["switchboard/idempotencyKey"]`. Rejects with
 * an {@link McpError} naming the part that failed. Needs `@modelcontextprotocol/sdk` installed.
 *
 * @example
 * const github = await mcpTools({
 *   url: "http://127.0.0.1:3001/mcp",
 *   prefix: "github_",
 *   tools: { create_issue: { approval: true } },
 * })
 * try {
 *   await triage.run(input, { models })
 * } finally {
 *   await github.close()
 * }
 */
export const mcpTools = async (options: McpToolsOptions): Promise<McpToolset> => {
  const { openToolset } = await import("./mcp-connection.ts")
  return openToolset(options)
}
