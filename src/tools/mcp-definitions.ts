// From the tools a server lists to switchboard `Tool`s: keys the providers accept, the JSON Schema
// as a zod schema (so the run layer checks arguments before the call), and per-tool settings.

import { z } from "zod"
import { toMillis } from "../contract/duration.ts"
import type { McpConnection } from "./mcp-connection.ts"
import { McpError } from "./mcp-error.ts"
import type { McpTool, McpToolOptions, McpToolsOptions } from "./mcp-tools.ts"

/** A tool as `tools/list` describes it (the fields switchboard reads). */
export interface ListedTool {
  readonly name: string
  readonly description?: string
  readonly inputSchema: Record<string, unknown>
  readonly annotations?: { readonly readOnlyHint?: boolean; readonly idempotentHint?: boolean }
}

const keyPattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/

// Providers accept letters, digits, `_` and `-` in tool names; MCP servers also use `.` and `/`.
const keyOf = (prefix: string, name: string): string => {
  const key = `${prefix}${name.replace(/[^A-Za-z0-9_-]/g, "_")}`
  return /^[A-Za-z]/.test(key) ? key : `t_${key}`
}

/** The server's tools as switchboard tools, keyed as the model sees them. */
export const toolsOf = (connection: McpConnection, listed: readonly ListedTool[], options: McpToolsOptions): Record<string, McpTool> => {
  const { server } = connection
  const byName = new Map(listed.map((tool) => [tool.name, tool]))
  const named = [...(options.include ?? []), ...Object.keys(options.tools ?? {})]
  const unknown = named.filter((name) => !byName.has(name))
  if (unknown.length > 0) {
    throw new McpError({
      server,
      part: "options",
      tool: unknown[0] as string,
      message: `mcpTools(${server}): the server lists no tool ${unknown.map((name) => `"${name}"`).join(", ")}; it lists: ${[...byName.keys()].join(", ") || "none"}`,
    })
  }
  const chosen = options.include === undefined ? listed : listed.filter((tool) => options.include?.includes(tool.name))
  const tools: Record<string, McpTool> = {}
  for (const listedTool of chosen) {
    const key = keyOf(options.prefix ?? "", listedTool.name)
    if (!keyPattern.test(key)) {
      throw new McpError({
        server,
        part: "options",
        tool: listedTool.name,
        message: `mcpTools(${server}): tool "${listedTool.name}" would be offered as "${key}", longer than 64 characters; pass a shorter prefix or include`,
      })
    }
    const clash = Object.values(tools).find((tool) => tool.name === key)
    if (clash !== undefined) {
      throw new McpError({
        server,
        part: "options",
        tool: listedTool.name,
        message: `mcpTools(${server}): tools "${listedTool.name}" and another both become "${key}"; use include to pick one`,
      })
    }
    tools[key] = toolOf(connection, listedTool, key, { ...defaultsOf(options), ...options.tools?.[listedTool.name] })
  }
  return tools
}

const defaultsOf = (options: McpToolsOptions): McpToolOptions => ({
  ...(options.approval === undefined ? {} : { approval: options.approval }),
  ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
})

const toolOf = (connection: McpConnection, listed: ListedTool, key: string, settings: McpToolOptions): McpTool => {
  const where = `mcpTools(${connection.server}): tool "${listed.name}"`
  const input = inputSchemaOf(connection.server, listed)
  const idempotent = settings.idempotent ?? (listed.annotations?.readOnlyHint === true || listed.annotations?.idempotentHint === true)
  const timeoutMs = settings.timeout === undefined ? undefined : toMillis(settings.timeout, `${where}: timeout`)
  const description = settings.description ?? listed.description
  return {
    name: key,
    ...(description === undefined ? {} : { description }),
    input,
    idempotent,
    ...(settings.timeout === undefined ? {} : { timeout: settings.timeout }),
    ...(settings.approval === undefined ? {} : { approval: settings.approval }),
    run: (args, context) => connection.call(listed.name, key, args, context, { timeoutMs, retryable: idempotent }),
  }
}

// zod checks what the schema promises; a schema it cannot read is the server's fault, named here.
const inputSchemaOf = (server: string, listed: ListedTool): z.ZodType<Record<string, unknown>> => {
  const schema = listed.inputSchema as unknown
  const fail = (problem: string, cause?: unknown) =>
    new McpError({
      server,
      part: "schema",
      tool: listed.name,
      message: `MCP server "${server}": tool "${listed.name}" has an unusable input schema: ${problem}`,
      cause,
    })
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) throw fail("not a JSON Schema object")
  if ((schema as { type?: unknown }).type !== "object") throw fail(`its type must be "object", got ${JSON.stringify((schema as { type?: unknown }).type)}`)
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as z.ZodType<Record<string, unknown>>
  } catch (error) {
    throw fail(error instanceof Error ? error.message : String(error), error)
  }
}
