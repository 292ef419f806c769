// The error `mcpTools()` rejects with: its own file, so the lazily loaded connection code and the
// public entry point share it without an import cycle.

/**
 * Which part of talking to an MCP server failed: starting or reaching it (`connect`), listing its
 * tools (`list-tools`), a listed tool's input schema (`schema`), or the options naming a tool the
 * server does not list (`options`).
 *
 * @example
 * const startup = (part: McpErrorPart) => part === "connect"
 */
export type McpErrorPart = "connect" | "list-tools" | "schema" | "options"

/**
 * `mcpTools()` could not give you the server's tools. The message names the server, the part and
 * (for `schema` and `options`) the tool; `cause` keeps the SDK's or the process's error.
 *
 * @example
 * try { await mcpTools({ command: "missing-server" }) } catch (error) { if (error instanceof McpError) console.log(error.part) }
 */
export class McpError extends Error {
  override readonly name = "McpError"
  readonly _tag = "McpError"
  readonly server: string
  readonly part: McpErrorPart
  readonly tool: string | undefined

  constructor(fields: { readonly server: string; readonly part: McpErrorPart; readonly tool?: string; readonly message: string; readonly cause?: unknown }) {
    super(fields.message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.server = fields.server
    this.part = fields.part
    this.tool = fields.tool
  }
}
