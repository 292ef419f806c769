/**
 * 03 — a loop with a stop rule: draft, critique, redraft until the critic is happy. `maxVisits(3)`
 * lets `draft` run at most three times; the fourth entry follows the `stopped` edge to `publish`.
 *
 * Run: `npx node examples/03-loop-with-stop-rule.ts`
 */
import { z } from "zod"
import { fn, llm, maxVisits, pipeline, type RunEvent, route } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

const Critique = z.object({ score: z.number().min(0).max(10), note: z.string() })

/** Draft and critique in a loop; publish at score 8 or after the third draft, whichever comes first. */
export const writer = pipeline({ id: "draft-critique", input: z.object({ topic: z.string() }) })
  .step(
    "draft",
    llm({
      model: "fast",
      prompt: ({ input, steps, visit }) => {
        const critique = steps.critique as z.infer<typeof Critique> | undefined
        return `Draft #${visit} of a tagline about ${input.topic}.${critique === undefined ? "" : ` Last note: ${critique.note}`}`
      },
    }),
  )
  .step("critique", llm({ model: "fast", prompt: ({ steps }) => `Score 0-10 and one note: ${steps.draft}`, output: Critique }))
  .step(
    "publish",
    fn(({ steps, input }) => ({ topic: input.topic, tagline: steps.draft ?? "", score: steps.critique?.score ?? 0 })),
  )
  .edges({
    draft: { next: "critique", stop: maxVisits(3), stopped: "publish" },
    critique: route(["draft", "publish"], ({ output }) => (output.score >= 8 ? "publish" : "draft")),
    publish: "done",
  })

/** Two scripts: the critic is satisfied on the second draft, or never. */
export const scripts: Readonly<Record<"convinced" | "neverSatisfied", readonly ScriptedReply[]>> = {
  convinced: [
    "Owls: quiet.",
    { object: { score: 5, note: "say why it matters" } },
    "Owls: silent hunters of the night.",
    { object: { score: 9, note: "ship it" } },
  ],
  neverSatisfied: [
    "Tea.",
    { object: { score: 2, note: "too short" } },
    "Tea is a drink.",
    { object: { score: 4, note: "too plain" } },
    "Tea: a warm pause.",
    { object: { score: 6, note: "almost" } },
  ],
}

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Runs the loop twice offline: once leaving by its route, once stopped by `maxVisits(3)`.
 *
 * @example
 * const { convinced, neverSatisfied } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const runOnce = async (topic: string, script: readonly ScriptedReply[]) => {
    // With OPENAI_API_KEY set, the real provider will plug in here as `fast`; offline, a script answers.
    const fast = scriptedModel(script)
    const events: RunEvent[] = []
    const result = await writer.run(
      { topic },
      {
        models: { fast },
        onEvent: (event) => {
          events.push(event)
          if (event.type === "step.finished") log(`  ${event.step} #${event.visit}: ${JSON.stringify(event.output)}`)
          if (event.type === "run.finished" && event.stoppedBy !== undefined) log(`  stop rule ${event.stoppedBy.rule} fired before ${event.stoppedBy.step}`)
        },
      },
    )
    log(`  → ${result.status}${result.status === "done" ? `: ${JSON.stringify(result.output)}` : ""}`)
    return { result, events, calls: fast.calls.length }
  }
  log("owls (the critic is convinced on the second draft):")
  const convinced = await runOnce("owls", scripts.convinced)
  log("tea (the critic is never satisfied):")
  const neverSatisfied = await runOnce("tea", scripts.neverSatisfied)
  return { convinced, neverSatisfied }
}

if (import.meta.filename === process.argv[1]) await main()
