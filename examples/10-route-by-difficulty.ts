/**
 * 10 — routing to models: a cheap model labels each question `easy` or `hard`, and the label
 * routes it to a quick answer on the cheap model or a careful one on the strong model. The chart
 * shows both routes, so a path test covers each.
 *
 * Run: `npx node examples/10-route-by-difficulty.ts`
 */
import { z } from "zod"
import { llm, pipeline, type RunEvent, route } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const Difficulty = z.object({ difficulty: z.enum(["easy", "hard"]), why: z.string() })

/** Classify on the cheap model, then answer on the model the label calls for. */
export const answerer = pipeline({ id: "route-by-difficulty", input: z.object({ question: z.string() }) })
  .step(
    "classify",
    llm({
      model: "cheap",
      prompt: ({ input }) => `Is this question easy (a fact, one step) or hard (reasoning, several steps, or a judgement)?\n\n${input.question}`,
      output: Difficulty,
    }),
  )
  .step("quick", llm({ model: "cheap", maxOutputTokens: 200, prompt: ({ input }) => `Answer in one sentence: ${input.question}` }))
  .step(
    "thorough",
    llm({
      model: "strong",
      system: "Think step by step, state your assumptions, then give a short recommendation.",
      prompt: ({ input, steps }) => `${input.question}\n\n(Flagged as hard: ${steps.classify?.why})`,
    }),
  )
  .edges({
    classify: route(["quick", "thorough"], ({ output }) => (output.difficulty === "hard" ? "thorough" : "quick")),
    quick: "done",
    thorough: "done",
  })

/** Two questions, with what the scripted cheap and strong models answer. */
export const questions = [
  { question: "What is the capital of Portugal?", cheap: [{ object: { difficulty: "easy", why: "a single fact" } }, "Lisbon."], strong: [] },
  {
    question: "Should we move our nightly batch jobs to event-driven processing?",
    cheap: [{ object: { difficulty: "hard", why: "a design trade-off" } }],
    strong: ["It depends on latency needs and cost; start with the jobs whose results users wait for."],
  },
] as const

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Routes both questions offline and prints which model answered each.
 *
 * @example
 * const runs = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const runs = []
  for (const { question, cheap: cheapScript, strong: strongScript } of questions) {
    // With API keys set, cheap could be openai({ model: "gpt-5-mini" }) and strong anthropic({ model: "claude-sonnet-5" }).
    const cheap = scriptedModel(cheapScript, { name: "cheap" })
    const strong = scriptedModel(strongScript, { name: "strong" })
    const answeredBy: string[] = []
    const onEvent = (event: RunEvent) => event.type === "model.called" && event.step !== "classify" && answeredBy.push(event.model)
    const result = await answerer.run({ question }, { models: { cheap, strong }, onEvent })
    log(`${question}\n   → ${result.status === "done" ? `${result.step} on ${answeredBy.join(", ")}: ${String(result.output)}` : result.status}`)
    runs.push({ question, result, answeredBy, cheapCalls: cheap.calls.length, strongCalls: strong.calls.length })
  }
  return runs
}

if (import.meta.filename === process.argv[1]) await main()
