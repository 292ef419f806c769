/**
 * 19 — MCP tools: an agent uses the tools of an MCP server. `mcpTools()` starts the server
 * (`examples/mcp/weather-server.ts`, built with the official SDK) as a child process, lists its
 * tools and hands them to `agent({ tools })` as switchboard tools. Shown:
 *  1. The model asks for a 14-day forecast; the tool's JSON Schema says at most 7, so the call
 *     never reaches the server and the model gets the issue back; it asks again for 3 days and
 *     answers from the structured result.
 *  2. `subscribeAlerts` needs a person's approval (`tools: { subscribeAlerts: { approval: true } }`):
 *     the run waits, a person approves, the server gets the call with its idempotency key.
 * `await using` closes the connection (and ends the server process) when `main` returns.
 *
 * Run: `npx node examples/19-mcp-tools.ts`
 */
import { fileURLToPath } from "node:url"
import { z } from "zod"
import { agent, type McpToolset, maxSteps, mcpTools, memoryJournal, pipeline, type RunEvent } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** What the forecasting agent answers. */
export const Outlook = z.object({ city: z.string(), rainyDays: z.number().int(), summary: z.string() })

/** A pipeline of one agent over whatever tools it is given. */
export const weatherDesk = (tools: McpToolset["tools"]) =>
  pipeline({ id: "weather-desk", input: z.object({ request: z.string() }) })
    .step(
      "desk",
      agent({
        model: "smart",
        system: "You answer weather questions with the weather tools. Answer with JSON { city, rainyDays, summary }.",
        prompt: ({ input }) => input.request,
        tools,
        output: Outlook,
        stop: [maxSteps(5)],
      }),
    )
    .edges({ desk: "done" })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

// Offline, a script plays the model: it reads the tool results it gets back, as a real model would.
const forecaster: ScriptedReply = (request) => {
  const results = request.messages.filter((message) => message.role === "tool")
  const last = results.at(-1)
  if (last === undefined) return { toolCalls: [{ name: "weather_forecast", arguments: { city: "Oslo", days: 14 } }] }
  if (last.isError === true) return { toolCalls: [{ name: "weather_forecast", arguments: { city: "Oslo", days: 3 } }] }
  const forecast = JSON.parse(last.content) as { city: string; days: Array<{ sky: string }> }
  const rainyDays = forecast.days.filter((day) => day.sky === "rain").length
  return { object: { city: forecast.city, rainyDays, summary: forecast.days.map((day) => day.sky).join(", ") } }
}
const subscriber: ScriptedReply = (request) => {
  const last = request.messages.at(-1)
  if (last?.role !== "tool") return { toolCalls: [{ name: "weather_subscribeAlerts", arguments: { city: "Bergen", email: "ops@example.com" } }] }
  return { object: { city: "Bergen", rainyDays: 0, summary: last.content } }
}

/**
 * Runs both requests offline against the example's own MCP server.
 *
 * @example
 * const { outlook, subscribed, toolCalls } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  await using weather = await mcpTools({
    command: process.execPath,
    args: [fileURLToPath(new URL("./mcp/weather-server.ts", import.meta.url))],
    prefix: "weather_",
    tools: { subscribeAlerts: { approval: true } },
  })
  log(`tools of "${weather.server}": ${Object.keys(weather.tools).join(", ")}`)
  const desk = weatherDesk(weather.tools)
  const toolCalls: string[] = []
  const watch = (event: RunEvent) => {
    if (event.type !== "tool.called") return
    const outcome = event.error === undefined ? JSON.stringify(event.result) : `error: ${event.error.message.replace(/\s*\n\s*/g, " ")}`
    toolCalls.push(`${event.tool}(${JSON.stringify(event.args)}) → ${outcome}`)
    log(`   ${toolCalls.at(-1)}`)
  }

  log("1. a forecast, after the schema turns down a 14-day request:")
  const outlook = await desk.run(
    { request: "Will it rain in Oslo this week?" },
    { models: { smart: scriptedModel([forecaster], { repeat: true }) }, journal: memoryJournal(), onEvent: watch },
  )
  log(`   → ${outlook.status}: ${JSON.stringify(outlook.status === "done" ? outlook.output : undefined)}`)

  log("2. a subscription a person approves first:")
  const handle = desk.start(
    { request: "Alert ops@example.com about storms in Bergen" },
    { models: { smart: scriptedModel([subscriber], { repeat: true }) }, onEvent: watch },
  )
  for await (const event of handle.events) {
    if (event.type === "human.waiting") {
      log(`   waiting for a person: ${event.prompt}`)
      handle.send("desk", { action: "approve" })
    }
  }
  const subscribed = await handle.result
  log(`   → ${subscribed.status}: ${JSON.stringify(subscribed.status === "done" ? subscribed.output : undefined)}`)
  return { tools: Object.keys(weather.tools), outlook, subscribed, toolCalls }
}

if (import.meta.filename === process.argv[1]) await main()
