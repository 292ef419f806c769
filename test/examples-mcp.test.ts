// Example 19 runs silenced against its own stdio MCP server and must do what its comments promise.
import { describe, expect, it } from "vitest"
import { main as mcpToolsExample } from "../examples/19-mcp-tools.ts"

describe("MCP example", () => {
  it("19 turns down a 14-day forecast by the tool's schema, answers from the 3-day one, and subscribes after approval", async () => {
    const { tools, outlook, subscribed, toolCalls } = await mcpToolsExample({ log: () => {} })
    expect(tools).toEqual(["weather_forecast", "weather_subscribeAlerts"])
    expect(toolCalls[0]).toMatch(/^weather_forecast\(\{"city":"Oslo","days":14\}\) → error: invalid arguments for tool "weather_forecast": .*7/)
    expect(outlook).toMatchObject({ status: "done", output: { city: "Oslo", rainyDays: 1, summary: "cloudy, rain, snow" } })
    expect(subscribed).toMatchObject({ status: "done", output: { city: "Bergen" } })
    expect(subscribed.status === "done" && subscribed.output.summary).toBe(
      `subscribed ops@example.com to alerts for Bergen (key ${subscribed.runId}:desk:1:1:call_1_0)`,
    )
    expect(toolCalls).toHaveLength(3)
  }, 30_000)
})
