/**
 * 09 — retrieval with a relevance check: search a small handbook (markdown files in
 * examples/data/handbook), let a model drop passages that do not answer the question, and take the
 * `empty` edge to a polite "don't know" when nothing relevant is left. The answer step gets the
 * passages as numbered sources in a token budget, and the run ends with the answer and its sources.
 *
 * Run: `npx node examples/09-rag-with-relevance-check.ts`
 */
import { fileURLToPath } from "node:url"
import { z } from "zod"
import { assembleContext, fn, lexicalRetriever, llm, loadDocuments, pipeline, type RunEvent, retrieve } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

const handbookFolder = fileURLToPath(new URL("./data/handbook/", import.meta.url))

/** The handbook, chunked by headings; the index is built on the first question. */
export const handbook = lexicalRetriever({ documents: loadDocuments(handbookFolder) })

/** Search, check relevance, answer with numbered sources, or say politely that the handbook has no answer. */
export const helpDesk = pipeline({ id: "help-desk", input: z.object({ question: z.string() }) })
  .step("search", retrieve({ retriever: handbook, query: ({ input }) => input.question, k: 4, relevance: { model: "fast" } }))
  .step(
    "answer",
    llm({
      model: "fast",
      system: "Answer only from the sources. Cite each fact with its source number, like [1].",
      prompt: ({ input, steps }) => `${assembleContext(steps.search?.passages ?? [], { maxTokens: 600 }).text}\n\nQuestion: ${input.question}`,
    }),
  )
  .step(
    "cite",
    fn(({ steps }) => ({
      answer: steps.answer ?? "",
      sources: assembleContext(steps.search?.passages ?? [], { maxTokens: 600 }).citations.map((citation) => `[${citation.number}] ${citation.source}`),
    })),
  )
  .step(
    "dontKnow",
    fn(({ input }) => ({ answer: `Sorry, the handbook does not say. I have passed "${input.question}" to a colleague.`, sources: [] as string[] })),
  )
  .edges({ search: { next: "answer", empty: "dontKnow" }, answer: "cite", cite: "done", dontKnow: "done" })

/** A scripted grader: it keeps the numbered passages that mention `words`, as a model reading them would. */
const gradeMentioning =
  (words: string): ScriptedReply =>
  (request) => {
    const prompt = String(request.messages.at(-1)?.content)
    const relevant = [...prompt.matchAll(/^\[(\d+)\] (.*)$/gm)].filter((match) => match[2]?.includes(words)).map((match) => Number(match[1]))
    return { object: { relevant } }
  }

/** Three questions and what the scripted model says about each: its relevance grades, then its answer. */
export const questions: ReadonlyArray<{ readonly question: string; readonly script: readonly ScriptedReply[] }> = [
  {
    question: "How long does a refund take?",
    script: [
      gradeMentioning("working days after the returned parcel"),
      "Refunds are paid within five working days after the returned parcel reaches the warehouse [1].",
    ],
  },
  // The search finds passages about the warehouse, but none says when it closes: the grader keeps none.
  { question: "When does the warehouse close for the holidays?", script: [{ object: { relevant: [] } }] },
  // No word in common with the handbook: the search itself finds nothing, and no model is called.
  { question: "Will it rain tomorrow?", script: [] },
]

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Asks the three questions offline and prints each route, answer and source.
 *
 * @example
 * const runs = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const runs = []
  for (const { question, script } of questions) {
    // With OPENAI_API_KEY set, openai({ model: "gpt-5-mini" }) would plug in here as `fast`; offline, a script answers.
    const fast = scriptedModel(script)
    const routes: string[] = []
    const onEvent = (event: RunEvent) => event.type === "route.taken" && routes.push(event.to)
    const result = await helpDesk.run({ question }, { models: { fast }, onEvent })
    const output = result.status === "done" ? (result.output as { answer: string; sources: string[] }) : undefined
    log(
      `Q: ${question}\n   path: search → ${routes.join(" → ")}\n   A: ${output?.answer ?? result.status}${output?.sources.length ? `\n   sources: ${output.sources.join(", ")}` : ""}`,
    )
    runs.push({ question, result, routes, calls: fast.calls })
  }
  return runs
}

if (import.meta.filename === process.argv[1]) await main()
