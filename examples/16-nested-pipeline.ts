/**
 * 16 — nested pipelines: a small `classify-ticket` pipeline is built once and reused as a step of
 * an inbox pipeline: once for the ticket that opened the conversation (`subpipeline`, with a typed
 * input mapping) and once per follow-up message (`map` with the pipeline as `each`). The child's
 * steps show up in the parent's events and journal under a path (`first.label`,
 * `followUps[1].label`), and a child that fails takes the parent step's `error` edge.
 *
 * Run: `npx node examples/16-nested-pipeline.ts`
 */
import { z } from "zod"
import { fn, llm, type ModelRequest, map, memoryJournal, pipeline, subpipeline } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

const Label = z.object({ kind: z.enum(["bug", "refund", "question"]), urgent: z.boolean() })

/** The reusable child: label one message, then turn the label into a queue name. */
export const classifyTicket = pipeline({ id: "classify-ticket", input: z.object({ text: z.string() }) })
  .step("label", llm({ model: "fast", prompt: ({ input }) => `Label this message: ${input.text}`, output: Label }))
  .step(
    "queue",
    fn(({ steps }) => `${steps.label?.urgent === true ? "urgent-" : ""}${steps.label?.kind}`),
  )
  .edges({ label: "queue", queue: "done" })

/** The parent: the first message through the child, every follow-up through it too (2 at a time), then a plan. */
export const inbox = pipeline({ id: "inbox", input: z.object({ subject: z.string(), first: z.string(), followUps: z.array(z.string()) }) })
  .step("first", subpipeline(classifyTicket, { input: ({ input }) => ({ text: `${input.subject}: ${input.first}` }) }))
  .step("followUps", map({ over: ({ input }) => input.followUps.map((text) => ({ text })), each: classifyTicket, concurrency: 2 }))
  .step(
    "plan",
    fn(({ steps }) => ({ queue: steps.first, followUps: steps.followUps })),
  )
  .step(
    "triageByHand",
    fn(({ input }) => ({ queue: "manual", reason: `could not classify "${input.subject}"` })),
  )
  .edges({ first: { next: "followUps", error: "triageByHand" }, followUps: "plan", plan: "done", triageByHand: "done" })

// The scripted labeller answers from the message; a message saying "garbled" gets an unusable
// answer every time, the repair request included (it reads the whole conversation).
const reply = (request: ModelRequest): ScriptedReply => {
  const text = request.messages
    .map((message) => String(message.content))
    .join("\n")
    .toLowerCase()
  if (text.includes("garbled")) return { text: "¯\\_(ツ)_/¯" }
  const kind = text.includes("refund") ? "refund" : text.includes("crash") ? "bug" : "question"
  return { object: { kind, urgent: text.includes("asap") } }
}

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Runs the inbox twice offline: a conversation that classifies, and one whose first message the
 * child cannot classify (the parent's error edge takes over).
 *
 * @example
 * const { classified, unclassifiable } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const journal = memoryJournal()
  const models = { fast: scriptedModel([reply], { repeat: true }) }
  const classified = await inbox.run(
    { subject: "App crash", first: "It crashes on start, ASAP please", followUps: ["Also, can I get a refund?", "How do I export?"] },
    { models, journal, runId: "inbox-1" },
  )
  const paths = (await journal.read("inbox-1")).flatMap((entry) => (entry.type === "step.finished" ? [entry.step] : []))
  log(`classified: ${JSON.stringify(classified.status === "done" ? classified.output : classified.status)}`)
  log(`journaled steps: ${paths.join(", ")}`)
  const unclassifiable = await inbox.run({ subject: "???", first: "garbled", followUps: [] }, { models, journal, runId: "inbox-2" })
  log(`unclassifiable: ${JSON.stringify(unclassifiable.status === "done" ? unclassifiable.output : unclassifiable.status)}`)
  return { classified, paths, unclassifiable, calls: models.fast.calls.length }
}

if (import.meta.filename === process.argv[1]) await main()
