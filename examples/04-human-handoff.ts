/**
 * 04 — a human handoff: the run waits for a typed decision, routes on it, and follows the
 * `timeout` edge when nobody decides within two hours. Three ways to drive it:
 *  1. `p.start()` keeps the wait in memory; `handle.send` delivers the decision.
 *  2. `p.run()` pauses the run into the journal (`awaiting-human`); `p.decide` continues it later.
 *  3. Nobody decides: the timeout route (here applied at once with the `review.expire` event).
 *
 * Run: `npx node examples/04-human-handoff.ts`
 */
import { z } from "zod"
import { fn, human, llm, memoryJournal, pipeline, type RunEvent, route } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

/** Draft a reply, let a person approve it, then send it, drop it, or escalate when nobody answers. */
export const approval = pipeline({ id: "reply-approval", input: z.object({ ticket: z.string() }) })
  .step("draft", llm({ model: "fast", prompt: ({ input }) => `Draft a reply to: ${input.ticket}` }))
  .step(
    "review",
    human({
      decision: z.object({ approve: z.boolean(), note: z.string().optional() }),
      timeout: "2h",
      prompt: ({ steps }) => `Send this reply?\n${steps.draft}`,
    }),
  )
  .step(
    "send",
    fn(({ steps }) => ({ sent: steps.draft ?? "" })),
  )
  .step(
    "discard",
    fn(({ steps }) => ({ discarded: true, why: steps.review?.note ?? "rejected" })),
  )
  .step(
    "escalate",
    fn(() => ({ escalated: "no decision within 2h" })),
  )
  .edges({
    draft: "review",
    review: { next: route(["send", "discard"], ({ output }) => (output.approve ? "send" : "discard")), timeout: "escalate" },
    send: "done",
    discard: "done",
    escalate: "done",
  })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

// With OPENAI_API_KEY set, the real provider will plug in here as `fast`; offline, a script answers.
const models = () => ({ fast: scriptedModel(["Sorry for the delay, your parcel ships today."]) })

/**
 * Runs the three handoffs offline and prints each decision and outcome.
 *
 * @example
 * const { sent, discarded, escalated } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  log("1. start() + handle.send:")
  const handle = approval.start({ ticket: "Where is my parcel?" }, { models: models() })
  const liveEvents: RunEvent[] = []
  for await (const event of handle.events) {
    liveEvents.push(event)
    if (event.type === "human.waiting") {
      log(`   waiting on ${event.step}: ${event.prompt?.replaceAll("\n", " / ")}`)
      log("   reviewer approves")
      handle.send("review", { approve: true })
    }
  }
  const sent = await handle.result
  log(`   → ${sent.status}: ${sent.status === "done" ? JSON.stringify(sent.output) : ""}`)

  log("2. run() pauses as awaiting-human, decide() continues it:")
  const journal = memoryJournal()
  const paused = await approval.run({ ticket: "Where is my parcel?" }, { models: models(), journal })
  log(`   → ${paused.status}${paused.status === "awaiting-human" ? ` on ${paused.step}, deadline ${new Date(paused.deadline ?? 0).toISOString()}` : ""}`)
  const discarded = await approval.decide(paused.runId, "review", { approve: false, note: "tone is too casual" }, { journal, models: models() })
  log(`   reviewer rejects → ${discarded.status}: ${discarded.status === "done" ? JSON.stringify(discarded.output) : ""}`)

  log("3. nobody decides within 2h:")
  const unattended = approval.start({ ticket: "Where is my parcel?" }, { models: models() })
  for await (const event of unattended.events) {
    // Waiting two real hours is no demo: send the step's expire event, which applies its timeout now.
    if (event.type === "human.waiting") unattended.actor.send({ type: "review.expire" })
  }
  const escalated = await unattended.result
  log(`   → ${escalated.status}: ${escalated.status === "done" ? JSON.stringify(escalated.output) : ""}`)
  return { sent, liveEvents, paused, discarded, escalated }
}

if (import.meta.filename === process.argv[1]) await main()
