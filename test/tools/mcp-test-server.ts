// A real MCP server built with the SDK's McpServer, for the mcpTools tests: run directly it speaks
// stdio (MCP_TEST_MODE=bad-schema lists a tool whose schema cannot be read, =exit-early exits before
// answering); `startHttpServer()` serves it over Streamable HTTP on 127.0.0.1.
import { createServer, type Server as HttpServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js"
import { z } from "zod"

/** Builds the test server with its tools; `onCall` sees every call's name, arguments and `_meta`. */
export const testServer = (onCall: (name: string, args: unknown, meta: unknown, headers: unknown) => void = () => {}): McpServer => {
  const server = new McpServer({ name: "test-tools", version: "1.0.0" })
  server.registerTool(
    "forecast",
    {
      description: "The weather for a city",
      inputSchema: { city: z.string().min(1), days: z.number().int().min(1).max(7) },
      annotations: { readOnlyHint: true },
    },
    async ({ city, days }, extra) => {
      onCall("forecast", { city, days }, extra._meta, extra.requestInfo?.headers)
      return { content: [{ type: "text", text: `${city}: sunny for ${days} days` }] }
    },
  )
  server.registerTool(
    "order.lookup",
    {
      description: "An order by id",
      inputSchema: { orderId: z.string() },
      outputSchema: { orderId: z.string(), status: z.string() },
    },
    async ({ orderId }, extra) => {
      onCall("order.lookup", { orderId }, extra._meta, extra.requestInfo?.headers)
      const structuredContent = { orderId, status: "shipped" }
      return { content: [{ type: "text", text: JSON.stringify(structuredContent) }], structuredContent }
    },
  )
  server.registerTool("refuse", { description: "Always answers an error", inputSchema: { why: z.string() } }, async ({ why }) => ({
    content: [{ type: "text", text: `refused: ${why}` }],
    isError: true,
  }))
  server.registerTool("crash", { description: "Ends the server process", inputSchema: {} }, async () => {
    process.stderr.write("boom: crashing on purpose\n")
    setTimeout(() => process.exit(3), 10)
    return new Promise(() => {})
  })
  server.registerTool("slow", { description: "Answers after 30 s unless cancelled", inputSchema: {} }, async (_args, extra) => {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 30_000)
      extra.signal.addEventListener("abort", () => {
        clearTimeout(timer)
        resolve(undefined)
      })
    })
    return { content: [{ type: "text", text: "late" }] }
  })
  return server
}

// A server that lists a tool whose input schema has a type no JSON Schema knows.
const badSchemaServer = (): Server => {
  const server = new Server({ name: "bad-schema", version: "1.0.0" }, { capabilities: { tools: {} } })
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [
      { name: "fine", inputSchema: { type: "object", properties: { a: { type: "string" } } } },
      { name: "broken", inputSchema: { type: "object", properties: { when: { type: "datetime" } } } },
    ],
  }))
  server.setRequestHandler(CallToolRequestSchema, async () => ({ content: [{ type: "text", text: "ok" }] }))
  return server
}

/** Serves a fresh test server per request (stateless Streamable HTTP) on 127.0.0.1; resolves to its URL. */
export const startHttpServer = async (
  onCall?: (name: string, args: unknown, meta: unknown, headers: unknown) => void,
): Promise<{ readonly url: string; close(): Promise<void> }> => {
  const http: HttpServer = createServer(async (request, response) => {
    const server = testServer(onCall)
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true })
    response.on("close", () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(request, response)
  })
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      }),
  }
}

if (import.meta.filename === process.argv[1]) {
  const mode = process.env["MCP_TEST_MODE"]
  if (mode === "exit-early") {
    process.stderr.write("cannot start: missing config file\n")
    process.exit(2)
  }
  const server = mode === "bad-schema" ? badSchemaServer() : testServer()
  await server.connect(new StdioServerTransport())
}
