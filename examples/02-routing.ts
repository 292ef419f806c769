/**
 * 02 — routing: a route reads the classifier's typed output and picks the next step by name.
 *
 * Run: `npx node examples/02-routing.ts`
 */
import { z } from "zod"
import { fn, llm, pipeline, type RunEvent, route } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const Kind = z.object({ kind: z.enum(["refund", "bug", "other"]), confidence: z.number() })

/** Classify a ticket; refunds go to code, confident answers to the model, the rest to a person's queue. */
export const router = pipeline({ id: "ticket-router", input: z.object({ ticket: z.string() }) })
  .step("classify", llm({ model: "fast", prompt: ({ input }) => `Classify: ${input.ticket}`, output: Kind }))
  .step(
    "refund",
    fn(({ input }) => `refund opened for "${input.ticket}"`),
  )
  .step("answer", llm({ model: "fast", prompt: ({ input, steps }) => `Answer this ${steps.classify?.kind} ticket: ${input.ticket}` }))
  .step(
    "escalate",
    fn(() => "queued for a person"),
  )
  .edges({
    classify: route(["escalate", "refund", "answer"], ({ output }) => (output.confidence < 0.6 ? "escalate" : output.kind === "refund" ? "refund" : "answer")),
    refund: "done",
    answer: "done",
    escalate: "done",
  })

/** The tickets this example routes, with what the scripted classifier says about each. */
export const tickets = [
  { ticket: "Please refund order 42", classification: { kind: "refund", confidence: 0.95 } },
  { ticket: "The export button does nothing", classification: { kind: "bug", confidence: 0.85 } },
  { ticket: "hmm", classification: { kind: "other", confidence: 0.2 } },
] as const

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Routes three tickets offline and prints the path each one took.
 *
 * @example
 * const runs = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const runs = []
  for (const { ticket, classification } of tickets) {
    // With OPENAI_API_KEY set, the real provider will plug in here as `fast`; offline, a script answers.
    const fast = scriptedModel([{ object: classification }, "Thanks! A fix ships this week."])
    const routes: string[] = []
    const onEvent = (event: RunEvent) => event.type === "route.taken" && routes.push(`${event.from} → ${event.to}`)
    const result = await router.run({ ticket }, { models: { fast }, onEvent })
    log(`"${ticket}": ${routes.join(", ")} | ${result.status === "done" ? JSON.stringify(result.output) : result.status}`)
    runs.push({ ticket, result, routes, calls: fast.calls.length })
  }
  return runs
}

if (import.meta.filename === process.argv[1]) await main()
