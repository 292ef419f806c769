// Agent journal growth: an agent of 10 and of 100 turns (each turn a tool call whose result is
// ~200 characters, then an answer) on a scripted model, journaled in memory; every entry's JSON
// size is summed. A journal that keeps every call's whole conversation grows with the square of
// the turns; one that keeps what each turn adds grows linearly (DESIGN.md: target at most 1.2).
import { z } from "zod"
import { agent, fullModelCalls, type JournalEntry, maxSteps, memoryJournal, pipeline, tool } from "../../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../../src/testing/index.ts"
import { type Row, row, type Workload } from "../measure.ts"

/** Agent lengths (model turns) whose journal bytes are compared. */
export const agentTurns = [10, 100] as const
/** Bytes per turn at the longest agent over the shortest, at most. */
export const agentLinearityTarget = 1.2

const lookup = tool({
  name: "lookup",
  input: z.object({ page: z.number() }),
  run: ({ page }) => `page ${page}: ${"lorem ipsum dolor sit amet ".repeat(7)}`,
})

// Turn n asks for page n; the last turn answers.
const replies =
  (turns: number): ScriptedReply =>
  (request) => {
    const turn = request.messages.filter((message) => message.role === "assistant").length + 1
    return turn < turns ? { toolCalls: [{ id: `c${turn}`, name: "lookup", arguments: { page: turn } }] } : `read ${turns - 1} pages`
  }

const reader = (turns: number) =>
  pipeline({ id: "bench-agent-journal", input: z.object({ topic: z.string() }) })
    .step("read", agent({ model: "smart", prompt: ({ input }) => `Read about ${input.topic}`, tools: { lookup }, stop: [maxSteps(turns + 1)] }))
    .edges({ read: "done" })

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value))

/**
 * One agent run of `turns` turns: its journal's bytes, and what the same journal would weigh with
 * every call's whole conversation in it (the format before calls were kept linear).
 *
 * @example
 * const { bytes, wholeBytes } = await agentJournalBytes(10)
 */
export const agentJournalBytes = async (turns: number): Promise<{ readonly entries: number; readonly bytes: number; readonly wholeBytes: number }> => {
  const journal = memoryJournal()
  const result = await reader(turns).run({ topic: "tides" }, { models: { smart: scriptedModel([replies(turns)], { repeat: true }) }, journal, runId: "a" })
  if (result.status !== "done") throw new Error(`agent journal bench ended ${result.status}: ${JSON.stringify(result)}`)
  const entries = await journal.read("a")
  const whole = new Map(fullModelCalls(entries).map((call) => [call.seq, call]))
  const asBefore = entries.map((entry): unknown => {
    const call = whole.get(entry.seq)
    if (call === undefined) return entry
    const { conversation: _linear, ...before } = call
    return before
  })
  return {
    entries: entries.length,
    bytes: entries.reduce((sum, entry: JournalEntry) => sum + jsonBytes(entry), 0),
    wholeBytes: asBefore.reduce((sum: number, entry) => sum + jsonBytes(entry), 0),
  }
}

/** The agent-journal workload: bytes per turn at each length, now and with whole conversations, and their ratios. */
export const agentJournalWorkload: Workload = {
  name: "agent-journal",
  run: async (): Promise<readonly Row[]> => {
    const rows: Row[] = []
    const perTurn = new Map<number, { readonly now: number; readonly whole: number }>()
    for (const turns of agentTurns) {
      const measured = await agentJournalBytes(turns)
      perTurn.set(turns, { now: measured.bytes / turns, whole: measured.wholeBytes / turns })
      rows.push(row(`agent journal of ${turns} turns (${measured.entries} entries, ${measured.bytes} bytes)`, measured.bytes / turns, "bytes/turn"))
      rows.push(row(`  same with every call's whole conversation (${measured.wholeBytes} bytes)`, measured.wholeBytes / turns, "bytes/turn"))
    }
    const [shortest, longest] = agentTurns
    const short = perTurn.get(shortest) as { now: number; whole: number }
    const long = perTurn.get(longest) as { now: number; whole: number }
    rows.push(row(`agent journal linear: bytes/turn at ${longest} turns / at ${shortest} turns`, long.now / short.now, "x", agentLinearityTarget))
    rows.push(row(`  same with every call's whole conversation`, long.whole / short.whole, "x"))
    return rows
  },
}
