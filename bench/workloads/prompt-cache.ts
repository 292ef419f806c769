// Prompt caching (issue 22): a 20-turn agent on the Anthropic provider against the loopback fake
// server, answering with recorded tool_use payloads (shared/provider-fixtures/anthropic/
// messages-tool.json) and then a recorded text answer. The workload replays Anthropic's documented
// cache rules over the request bodies actually sent: a request reads the longest prefix (tools,
// then system, then message blocks) that an earlier request wrote at one of its breakpoints,
// looked up at this request's breakpoints and up to 20 blocks before each. Tokens are counted as
// 4 characters of each block's JSON.
import { createHash } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { z } from "zod"
import { agent, anthropic, maxSteps, pipeline, tool } from "../../src/index.ts"
import { type FakeServer, startFakeServer } from "../../test/providers/fake-server.ts"
import { fixturesOf } from "../../test/providers/fixtures.ts"
import { type Row, row, type Workload } from "../measure.ts"

const turns = 20
const lookBack = 20
// A recorded tool_use answer when the fixtures beside the repository are there, else one of the same shape.
const recordedFile = new URL("../../../shared/provider-fixtures/anthropic/messages-tool.json", import.meta.url)
const recordedTool = (
  existsSync(recordedFile)
    ? JSON.parse(readFileSync(recordedFile, "utf8"))
    : {
        type: "message",
        role: "assistant",
        model: "claude-sonnet-4-0",
        content: [{ type: "tool_use", id: "toolu_0", name: "json", input: { elements: [{ location: "Oslo" }] } }],
        stop_reason: "tool_use",
        usage: { input_tokens: 0, output_tokens: 0 },
      }
) as { content: Array<{ type: string; id: string; name: string; input: unknown }> }
const textAnswer = fixturesOf("anthropic").jsonFixture("message-text.json")

// A support agent's system prompt of realistic length (~1,500 tokens): policies repeated by section.
const system = Array.from(
  { length: 12 },
  (_, section) =>
    `Section ${section + 1}. You are the weather desk of a travel company. Look places up with the json tool before you answer, never guess a temperature, say which places are below zero, keep answers short, cite the place names exactly as the tool returns them, and ask again when a place is ambiguous. Refuse anything that is not about the weather.`,
).join("\n")

const json = tool({
  name: "json",
  description: "Returns the current weather of places as JSON elements",
  input: z.object({ elements: z.array(z.object({ location: z.string(), temperature: z.number(), condition: z.string() })) }),
  run: async ({ elements }) => ({ checked: elements.map((element) => ({ ...element, checkedAt: "2026-12-04T10:00:00Z", source: "met-office" })) }),
})
const forecast = tool({
  name: "forecast",
  description: "Returns the forecast of one place for the next days",
  input: z.object({ location: z.string(), days: z.number().int().min(1).max(10) }),
  run: async ({ location, days }) => ({ location, days }),
})

const weatherDesk = pipeline({ id: "weather-desk", input: z.object({ question: z.string() }) })
  .step("answer", agent({ model: "claude", system, prompt: ({ input }) => input.question, tools: { json, forecast }, stop: [maxSteps(turns + 1)] }))
  .edges({ answer: "done" })

type Block = { readonly text: string; readonly marked: boolean }

// The blocks of a request in the order Anthropic caches them: tools, system, then each message's content.
const blocksOf = (body: Record<string, unknown>): Block[] => {
  const block = (value: Record<string, unknown>): Block => {
    const { cache_control: mark, ...rest } = value
    return { text: JSON.stringify(rest), marked: mark !== undefined }
  }
  const tools = ((body["tools"] ?? []) as Array<Record<string, unknown>>).map(block)
  const systemValue = body["system"]
  const systemBlocks =
    systemValue === undefined
      ? []
      : typeof systemValue === "string"
        ? [{ text: systemValue, marked: false }]
        : (systemValue as Array<Record<string, unknown>>).map(block)
  const messages = (body["messages"] as Array<{ role: string; content: unknown }>).flatMap((message) =>
    typeof message.content === "string"
      ? [{ text: `${message.role}:${message.content}`, marked: false }]
      : (message.content as Array<Record<string, unknown>>).map(block),
  )
  return [...tools, ...systemBlocks, ...messages]
}

const tokensOf = (block: Block) => Math.ceil(block.text.length / 4)

/** What share of the input tokens a cache following Anthropic's rules serves, and what share is marked cacheable. */
export const cacheShares = (bodies: ReadonlyArray<Record<string, unknown>>) => {
  const written = new Set<string>()
  let total = 0
  let read = 0
  let cacheable = 0
  for (const body of bodies) {
    const blocks = blocksOf(body)
    const prefixHashes: string[] = []
    const prefixTokens: number[] = []
    let hash = ""
    let tokens = 0
    for (const block of blocks) {
      hash = createHash("sha256").update(hash).update(block.text).digest("hex")
      tokens += tokensOf(block)
      prefixHashes.push(hash)
      prefixTokens.push(tokens)
    }
    total += tokens
    const breakpoints = blocks.flatMap((block, index) => (block.marked ? [index] : []))
    let best = -1
    for (const breakpoint of breakpoints) {
      for (let index = breakpoint; index >= Math.max(0, breakpoint - lookBack); index--) {
        if (written.has(prefixHashes[index] as string)) {
          best = Math.max(best, index)
          break
        }
      }
    }
    if (best >= 0) read += prefixTokens[best] as number
    const last = breakpoints.at(-1)
    if (last !== undefined) cacheable += prefixTokens[last] as number
    for (const breakpoint of breakpoints) written.add(prefixHashes[breakpoint] as string)
  }
  return { total, read: read / total, cacheable: cacheable / total }
}

const runAgent = async (server: FakeServer) => {
  const replies = Array.from({ length: turns - 1 }, (_, turn) => ({
    kind: "json" as const,
    body: { ...recordedTool, id: `msg_${turn}`, content: recordedTool.content.map((block) => ({ ...block, id: `toolu_${turn}` })) },
  }))
  server.reply(...replies, { kind: "json", body: textAnswer })
  const claude = anthropic({ model: "claude-sonnet-5", apiKey: "sk-bench-not-a-real-key", baseURL: server.url })
  const from = server.requests.length
  const result = await weatherDesk.run({ question: "How cold is it in San Francisco, London, Paris and Berlin?" }, { models: { claude } })
  if (result.status !== "done") throw new Error(`prompt-cache workload: the agent ended ${result.status}`)
  return server.requests.slice(from).map((request) => request.body as Record<string, unknown>)
}

export const promptCacheWorkload: Workload = {
  name: "prompt caching",
  run: async (): Promise<readonly Row[]> => {
    const server = await startFakeServer()
    try {
      const bodies = await runAgent(server)
      if (bodies.length !== turns) throw new Error(`prompt-cache workload: expected ${turns} requests, got ${bodies.length}`)
      const shares = cacheShares(bodies)
      const unmarked = cacheShares(bodies.map((body) => JSON.parse(JSON.stringify(body).replaceAll(',"cache_control":{"type":"ephemeral"}', ""))))
      return [
        row(`${turns}-turn Anthropic agent: input tokens sent (4 chars a token)`, shares.total, "tokens"),
        row("share of input tokens read from the prompt cache (target ≥ 80 %)", shares.read * 100, "%"),
        row("share of input tokens NOT read from the prompt cache", (1 - shares.read) * 100, "%", 20),
        row("share of input tokens inside a marked (cacheable) prefix", shares.cacheable * 100, "%"),
        row("same requests without breakpoints: share read from cache", unmarked.read * 100, "%"),
      ]
    } finally {
      await server.close()
    }
  },
}
