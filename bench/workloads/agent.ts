// Agent-turn overhead: an agent loop of 10 tool rounds (then an answer) on a zero-latency scripted
// model, through switchboard's sub-chart, against a hand-written loop doing the same model calls
// and tool calls. Reported per model turn (11 turns per run).
import { z } from "zod"
import { agent, type Message, maxSteps, pipeline, tool } from "../../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"
import { compare, type Row, row, type Workload } from "../measure.ts"

/** Tool rounds before the model answers. */
export const toolRounds = 10
const turns = toolRounds + 1

const add = tool({ name: "add", input: z.object({ a: z.number(), b: z.number() }), run: ({ a, b }) => a + b })

// Round n asks for add(n, 1); after the last round it answers with the last result.
const reply: ScriptedReply = (request) => {
  const round = request.messages.filter((message) => message.role === "assistant").length
  if (round < toolRounds) return { toolCalls: [{ id: `c${round}`, name: "add", arguments: { a: round, b: 1 } }] }
  return String(request.messages.at(-1)?.content)
}
const zeroLatencyModel = () => scriptedModel([reply], { repeat: true })

const loop = pipeline({ id: "bench-agent", input: z.object({ task: z.string() }) })
  .step("work", agent({ model: "smart", prompt: ({ input }) => input.task, tools: { add }, stop: [maxSteps(turns + 1)] }))
  .edges({ work: "done" })

const expected = String(toolRounds)

/** The measured subjects: one agent run each, checked. */
export const subjects = {
  switchboard: async () => {
    const result = await loop.run({ task: "count" }, { models: { smart: zeroLatencyModel() } })
    if (result.status !== "done" || result.output !== expected) throw new Error(`agent bench ended ${result.status}: ${JSON.stringify(result)}`)
  },
  handLoop: async () => {
    const model = zeroLatencyModel()
    const signal = new AbortController().signal
    const messages: Message[] = [{ role: "user", content: "count" }]
    const tools = [{ name: "add", inputSchema: z.toJSONSchema(add.input) as Record<string, unknown> }]
    for (let turn = 0; turn <= turns; turn++) {
      const response = await model.generate({ messages, tools }, { signal })
      messages.push({ role: "assistant", content: response.text, ...(response.toolCalls === undefined ? {} : { toolCalls: response.toolCalls }) })
      if (response.toolCalls === undefined || response.toolCalls.length === 0) {
        if (response.text !== expected) throw new Error(`hand loop answered ${response.text}`)
        return
      }
      for (const call of response.toolCalls) {
        const args = add.input.parse(call.arguments)
        const result = await add.run(args, { signal, idempotencyKey: call.id, runId: "bench", step: "work" })
        messages.push({ role: "tool", toolCallId: call.id, name: call.name, content: JSON.stringify(result) })
      }
    }
  },
}

/** The agent-turn workload: µs per model turn through switchboard and by hand, their difference and ratio. */
export const agentWorkload: Workload = {
  name: "agent-turn",
  run: async (): Promise<readonly Row[]> => {
    const perRun = await compare(subjects)
    const perTurn = (microseconds: number) => microseconds / turns
    return [
      row(`agent (${toolRounds} tool rounds): switchboard`, perTurn(perRun.switchboard), "µs/turn"),
      row(`agent (${toolRounds} tool rounds): hand-written loop`, perTurn(perRun.handLoop), "µs/turn"),
      row(`agent (${toolRounds} tool rounds): overhead`, perTurn(perRun.switchboard - perRun.handLoop), "µs/turn"),
      row(`agent (${toolRounds} tool rounds): ratio`, perRun.switchboard / perRun.handLoop, "x"),
    ]
  },
}
