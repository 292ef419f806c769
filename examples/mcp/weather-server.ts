/**
 * A small MCP server for example 19, built with the official SDK: `forecast` (read-only) and
 * `subscribeAlerts`. It speaks MCP over stdin/stdout; example 19 starts it as a child process.
 *
 * Run it alone (it waits for a client on stdin): `npx node examples/mcp/weather-server.ts`
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { z } from "zod"

const server = new McpServer({ name: "weather", version: "1.0.0" })

const skies = ["sunny", "cloudy", "rain", "snow"] as const

server.registerTool(
  "forecast",
  {
    description: "Daily forecast for a city, up to 7 days ahead",
    inputSchema: { city: z.string().min(1), days: z.number().int().min(1).max(7) },
    outputSchema: { city: z.string(), days: z.array(z.object({ day: z.number(), sky: z.enum(skies), highC: z.number() })) },
    annotations: { readOnlyHint: true },
  },
  async ({ city, days }) => {
    // Deterministic, so the example's output is the same every time.
    const seed = [...city].reduce((sum, char) => sum + char.charCodeAt(0), 0)
    const structuredContent = {
      city,
      days: Array.from({ length: days }, (_, index) => ({
        day: index + 1,
        sky: skies[(seed + index) % skies.length] as (typeof skies)[number],
        highC: 8 + ((seed + index * 3) % 9),
      })),
    }
    return { content: [{ type: "text", text: JSON.stringify(structuredContent) }], structuredContent }
  },
)

server.registerTool(
  "subscribeAlerts",
  { description: "Sends storm alerts for a city to an email address", inputSchema: { city: z.string(), email: z.string().email() } },
  async ({ city, email }, extra) => {
    // The idempotency key switchboard sends lets a real server subscribe once per tool call.
    const key = String(extra._meta?.["switchboard/idempotencyKey"] ?? "none")
    return { content: [{ type: "text", text: `subscribed ${email} to alerts for ${city} (key ${key})` }] }
  },
)

await server.connect(new StdioServerTransport())
