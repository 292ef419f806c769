// One connection to an MCP server on the official SDK: connect, list the tools, call them, notice
// a lost connection and reconnect on the next call, close. Loaded lazily by `mcpTools()`.

import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { toMillis } from "../contract/duration.ts"
import { messageOf, ToolError } from "../contract/errors.ts"
import type { ToolCallContext } from "../definition/steps/tool.ts"
import { type ListedTool, toolsOf } from "./mcp-definitions.ts"
import { McpError } from "./mcp-error.ts"
import { callFailure, valueOfResult } from "./mcp-results.ts"
import type { McpToolset, McpToolsOptions } from "./mcp-tools.ts"

/** The `_meta` key under which each call carries the step's idempotency key. */
export const idempotencyMetaKey = "switchboard/idempotencyKey"

const stderrLimit = 2_000
const defaultConnectTimeoutMs = 30_000

/** What one call needs besides its arguments. */
export interface CallSettings {
  readonly timeoutMs: number | undefined
  readonly retryable: boolean
}

/** A live or lost connection to one server, shared by all of its tools. */
export class McpConnection {
  server: string
  private client: Client | undefined
  private connecting: Promise<Client> | undefined
  private closed = false
  private stderrTail = ""
  private readonly connectTimeoutMs: number
  private readonly options: McpToolsOptions

  constructor(options: McpToolsOptions) {
    this.options = options
    this.server = options.name ?? ("command" in options ? [options.command, ...(options.args ?? [])].join(" ") : String(options.url))
    this.connectTimeoutMs = toMillis(options.connectTimeout ?? defaultConnectTimeoutMs, `mcpTools(${this.server}): connectTimeout`)
  }

  /** The server's last stderr lines (stdio only), for error messages. */
  get stderr(): string {
    return this.stderrTail.trim()
  }

  /** Connects (once at a time) and lists the tools, so the SDK can check structured results against their output schemas. */
  async open(): Promise<{ readonly client: Client; readonly tools: readonly ListedTool[] }> {
    const client = await this.live()
    return { client, tools: await this.listTools(client) }
  }

  private async listTools(client: Client): Promise<ListedTool[]> {
    const tools: ListedTool[] = []
    let cursor: string | undefined
    try {
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: this.connectTimeoutMs })
        tools.push(...(page.tools as ListedTool[]))
        cursor = page.nextCursor
      } while (cursor !== undefined)
    } catch (error) {
      throw new McpError({
        server: this.server,
        part: "list-tools",
        message: `MCP server "${this.server}" did not list its tools: ${messageOf(error)}`,
        cause: error,
      })
    }
    return tools
  }

  private live(): Promise<Client> {
    if (this.client !== undefined) return Promise.resolve(this.client)
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined
    })
    return this.connecting
  }

  private async connect(): Promise<Client> {
    const transport = this.transport()
    const client = new Client({ name: "switchboard", version: "0.1.0" })
    client.onclose = () => {
      if (this.client === client) this.client = undefined
    }
    // Transport errors also reject the request in flight; the handler only keeps them from being unhandled.
    client.onerror = () => {}
    try {
      await client.connect(transport, { timeout: this.connectTimeoutMs })
    } catch (error) {
      await client.close().catch(() => {})
      const stderr = this.stderr === "" ? "" : `; its stderr: ${this.stderr}`
      throw new McpError({
        server: this.server,
        part: "connect",
        message: `cannot connect to MCP server "${this.server}": ${describeConnectError(error)}${stderr}`,
        cause: error,
      })
    }
    if (this.closed) {
      await client.close().catch(() => {})
      throw new McpError({ server: this.server, part: "connect", message: `MCP server "${this.server}": the toolset was closed while connecting` })
    }
    if (this.options.name === undefined) this.server = client.getServerVersion()?.name ?? this.server
    this.client = client
    return client
  }

  private transport(): Transport {
    const { options } = this
    if ("command" in options) {
      const transport = new StdioClientTransport({
        command: options.command,
        ...(options.args === undefined ? {} : { args: [...options.args] }),
        ...(options.env === undefined ? {} : { env: { ...getDefaultEnvironment(), ...options.env } }),
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        stderr: "pipe",
      })
      transport.stderr?.on("data", (chunk: Buffer) => {
        this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-stderrLimit)
      })
      return transport
    }
    return new StreamableHTTPClientTransport(new URL(options.url), options.headers === undefined ? {} : { requestInit: { headers: { ...options.headers } } })
  }

  /** Calls one tool; every failure is a `ToolError` naming the server and the tool. */
  async call(tool: string, key: string, args: Record<string, unknown>, context: ToolCallContext, settings: CallSettings): Promise<unknown> {
    if (this.closed) {
      throw new ToolError({
        tool: key,
        reason: "failed",
        retryable: false,
        message: `MCP server "${this.server}": the toolset was closed before calling "${tool}"`,
      })
    }
    let client: Client
    try {
      // A server that crashed since the last call is started (or reached) again.
      client = this.client ?? (await this.open()).client
    } catch (error) {
      throw new ToolError({ tool: key, reason: "failed", retryable: settings.retryable, message: messageOf(error), cause: error })
    }
    let result: Awaited<ReturnType<Client["callTool"]>>
    try {
      result = await client.callTool({ name: tool, arguments: args, _meta: { [idempotencyMetaKey]: context.idempotencyKey } }, undefined, {
        signal: context.signal,
        ...(settings.timeoutMs === undefined ? {} : { timeout: settings.timeoutMs }),
      })
    } catch (error) {
      throw callFailure(error, { server: this.server, tool, key, retryable: settings.retryable, stderr: this.stderr })
    }
    return valueOfResult(result, { server: this.server, tool, key })
  }

  async close(): Promise<void> {
    this.closed = true
    const client = this.client ?? (await this.connecting?.catch(() => undefined))
    this.client = undefined
    await client?.close()
  }
}

const describeConnectError = (error: unknown): string => {
  const code = (error as { code?: unknown } | undefined)?.code
  if (code === "ENOENT") return `command not found (${messageOf(error)})`
  return messageOf(error)
}

/** Connects, lists and builds the toolset `mcpTools()` returns. */
export const openToolset = async (options: McpToolsOptions): Promise<McpToolset> => {
  const connection = new McpConnection(options)
  let tools: McpToolset["tools"]
  try {
    tools = toolsOf(connection, (await connection.open()).tools, options)
  } catch (error) {
    await connection.close().catch(() => {})
    throw error
  }
  const close = () => connection.close()
  return {
    get server() {
      return connection.server
    },
    tools,
    close,
    [Symbol.asyncDispose]: close,
  }
}
