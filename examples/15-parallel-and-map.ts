/**
 * 15 — parallel and map: three extractors read a brief at the same time (one XState region each),
 * then every document is summarised by a `map` with at most three model calls in flight, and a
 * last step combines the summaries. Outputs come back in document order, whatever order the
 * summaries finish in; each branch and each document is journaled under its own path
 * (`brief.audience`, `summaries[2]`), so a resumed run repeats none that finished.
 *
 * Run: `npx node examples/15-parallel-and-map.ts`
 */
import { z } from "zod"
import { fn, llm, type Model, type ModelRequest, map, parallel, pipeline, type RunEvent } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

const Document = z.object({ title: z.string(), text: z.string() })
const Audience = z.object({ audience: z.enum(["engineers", "executives", "customers"]), tone: z.string() })

/** One document to summarise, with what the brief asked for. */
type Task = { readonly title: string; readonly text: string; readonly audience: string; readonly words: number }

/** Summarises one document: the item of the map is this step's input. */
const summarise = llm({
  model: "fast",
  prompt: ({ input }: { input: Task }) => `Summarise "${input.title}" for ${input.audience} in ${input.words} words:\n${input.text}`,
})

/** Brief → three extractors in parallel → one summary per document (3 at a time) → combined digest. */
export const digest = pipeline({ id: "document-digest", input: z.object({ brief: z.string(), documents: z.array(Document) }) })
  .step(
    "brief",
    parallel({
      branches: {
        audience: llm({ model: "fast", prompt: ({ input }) => `Who is this for? ${input.brief}`, output: Audience }),
        topic: llm({ model: "fast", prompt: ({ input }) => `Topic in three words: ${input.brief}` }),
        words: fn(({ input }) => (input.brief.includes("short") ? 20 : 60)),
      },
      join: ({ audience, topic, words }) => ({ audience: audience.audience, tone: audience.tone, topic, words }),
    }),
  )
  .step(
    "summaries",
    map({
      over: ({ input, steps }) =>
        input.documents.map((document) => ({ ...document, audience: steps.brief?.audience ?? "engineers", words: steps.brief?.words ?? 60 })),
      each: summarise,
      concurrency: 3,
    }),
  )
  .step(
    "combine",
    llm({
      model: "fast",
      prompt: ({ steps }) =>
        `Combine into one ${steps.brief?.tone} digest on ${steps.brief?.topic}:\n${steps.summaries?.map((summary, index) => `${index + 1}. ${summary}`).join("\n")}`,
    }),
  )
  .edges({ brief: "summaries", summaries: "combine", combine: "done" })

/** The documents this example digests. */
export const documents = [
  { title: "Outage report", text: "The queue stalled for 40 minutes after a config push." },
  { title: "Roadmap", text: "Search ships in May; billing moves to usage pricing." },
  { title: "Hiring", text: "Two platform engineers join next month." },
  { title: "Incidents Q1", text: "Three incidents, all resolved within an hour." },
  { title: "Costs", text: "Cloud spend fell 12% after rightsizing." },
] as const

// The scripted model answers from the prompt; later documents answer sooner, so they finish first.
const reply = (request: ModelRequest): ScriptedReply => {
  const prompt = String(request.messages.at(-1)?.content)
  if (prompt.startsWith("Who is this for?")) return { object: { audience: "executives", tone: "crisp" }, delayMs: 5 }
  if (prompt.startsWith("Topic")) return { text: "platform team update", delayMs: 5 }
  const title = /^Summarise "([^"]+)"/.exec(prompt)?.[1]
  if (title !== undefined) {
    const index = documents.findIndex((document) => document.title === title)
    return { text: `${title}: ${documents[index]?.text.split(" ").slice(0, 5).join(" ")}…`, delayMs: 30 - index * 5 }
  }
  return { text: `Digest (${prompt.split("\n").length - 1} items)`, delayMs: 5 }
}

/** Wraps a model to count how many of its calls are in flight at once. */
const counting = (model: Model) => {
  const tally = { inFlight: 0, most: 0 }
  const wrapped: Model = {
    ...model,
    generate: async (request, options) => {
      tally.most = Math.max(tally.most, ++tally.inFlight)
      try {
        return await model.generate(request, options)
      } finally {
        tally.inFlight -= 1
      }
    },
  }
  return { model: wrapped, tally }
}

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Digests five documents offline and prints the order summaries finished in and the digest.
 *
 * @example
 * const { result, mostInFlight } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const fast = scriptedModel([reply], { repeat: true })
  const { model, tally } = counting(fast)
  const events: RunEvent[] = []
  const result = await digest.run(
    { brief: "A short update for the leadership team", documents: [...documents] },
    { models: { fast: model }, onEvent: (event) => events.push(event) },
  )
  const finishedOrder = events.flatMap((event) => (event.type === "step.finished" && event.step.startsWith("summaries[") ? [event.step] : []))
  log(`brief: ${JSON.stringify(result.steps.brief)}`)
  log(`summaries finished in this order: ${finishedOrder.join(", ")}`)
  log(`summaries (input order): ${JSON.stringify(result.steps.summaries)}`)
  log(`most model calls in flight while summarising: ${tally.most} (cap 3)`)
  log(result.status === "done" ? `digest: ${result.output}` : `run ${result.status}`)
  return { result, events, finishedOrder, mostInFlight: tally.most, calls: fast.calls.length }
}

if (import.meta.filename === process.argv[1]) await main()
