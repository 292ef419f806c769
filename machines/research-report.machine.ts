/**
 * Research report: a deterministic chain around one agent step. Code normalises the question and
 * picks sources; an agent searches and reads them with tools until it can write its findings (at
 * most 6 model turns, or until it calls `finish`); code checks the citations and a model writes
 * the report. Only the research itself is model-decided; everything around it is fixed.
 *
 * ```text
 * scope ─▶ research (agent) ─┬─ findings cite sources ───▶ write ─▶ done
 *          thinking ⇄ callingTools  └─ no citations ──────────▶ insufficient ─▶ done
 *          (maxSteps(6) / hasToolCall(finish) ─▶ insufficient)
 * ```
 */
import { z } from "zod"
import { agent, fn, hasToolCall, llm, type ModelRequest, type Models, maxSteps, pipeline, route, tool } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** The question to research. */
export const ResearchInput = z.object({ question: z.string().min(10), maxSources: z.number().int().min(1).max(5).optional() })

/** What the agent hands back: findings, each citing the sources it came from. */
export const Findings = z.object({
  findings: z.array(z.object({ claim: z.string(), sources: z.array(z.string()) })),
})

const library: Readonly<Record<string, { readonly title: string; readonly text: string }>> = {
  "doc-heat": { title: "Heat pumps in cold climates", text: "Modern heat pumps keep a coefficient of performance above 2 at -15 °C." },
  "doc-cost": { title: "Running costs 2026", text: "A heat pump costs 30–50% less to run than a gas boiler at 2026 prices." },
  "doc-noise": { title: "Noise", text: "Outdoor units run at 40–60 dB, about as loud as a conversation." },
}

/** Searches the document library: ids and titles of documents whose title or text mention a query word. */
export const searchLibrary = tool({
  name: "searchLibrary",
  description: "Search the document library; returns matching document ids and titles",
  input: z.object({ query: z.string().min(1) }),
  run: ({ query }) => {
    const words = query
      .toLowerCase()
      .split(/\W+/)
      .filter((word) => word.length > 3)
    return Object.entries(library)
      .filter(([, document]) => words.some((word) => `${document.title} ${document.text}`.toLowerCase().includes(word)))
      .map(([id, document]) => ({ id, title: document.title }))
  },
})

/** Reads one document of the library by id. */
export const readDocument = tool({
  name: "readDocument",
  description: "Read a document by id",
  input: z.object({ id: z.string() }),
  timeout: "5s",
  run: ({ id }) => {
    const document = library[id]
    if (document === undefined) throw new Error(`no document "${id}"`)
    return document
  },
})

/** Signals that the research is over without findings worth writing up. */
export const finish = tool({
  name: "finish",
  description: "Stop researching: nothing more can be found",
  input: z.object({ reason: z.string() }),
  run: ({ reason }) => reason,
})

/** The research-report pipeline. */
export const researchReport = pipeline({
  id: "research-report",
  input: ResearchInput,
  description: "Research a question with tools, check the citations, write a report",
})
  .step(
    "scope",
    fn(({ input }) => ({ question: input.question.trim(), maxSources: input.maxSources ?? 3 }), {
      description: "Normalises the question and the source limit",
    }),
  )
  .step(
    "research",
    agent({
      model: "smart",
      system: "You research questions using the library tools. Cite document ids. When done, answer with JSON { findings: [{ claim, sources }] }.",
      prompt: ({ steps }) => `Question: ${steps.scope?.question}\nUse at most ${steps.scope?.maxSources} sources.`,
      tools: { searchLibrary, readDocument, finish },
      output: Findings,
      stop: [maxSteps(6), hasToolCall("finish")],
      toolConcurrency: 3,
      history: { maxTokens: 6_000 },
      description: "An agent searches and reads the library until it can state cited findings",
    }),
  )
  .step(
    "write",
    llm({
      model: "fast",
      system: "Write a short report from the findings. Keep every citation as [doc-id].",
      prompt: ({ steps }) =>
        `Question: ${steps.scope?.question}\nFindings:\n${(steps.research?.findings ?? []).map((finding) => `- ${finding.claim} [${finding.sources.join(", ")}]`).join("\n")}`,
      description: "Writes the report",
    }),
  )
  .step(
    "insufficient",
    fn(({ steps }) => ({ report: null, reason: `could not answer "${steps.scope?.question}" from the library` }), {
      description: "Says the library could not answer",
    }),
  )
  .edges({
    scope: "research",
    research: {
      next: route(["write", "insufficient"], ({ output }) =>
        output.findings.length > 0 && output.findings.every((finding) => finding.sources.some((source) => source in library)) ? "write" : "insufficient",
      ),
      stopped: "insufficient",
      error: "insufficient",
    },
    write: "done",
    insufficient: "done",
  })

export default researchReport

/** A sample question: its input and how the run ends. */
export interface Sample {
  readonly name: string
  readonly input: z.infer<typeof ResearchInput>
  readonly expected: { readonly status: "done"; readonly step: "write" | "insufficient"; readonly path: readonly string[] }
}

/** Three questions: one the library answers, one it cannot (the agent calls `finish`), one without citations. */
export const samples: readonly Sample[] = [
  {
    name: "answerable question",
    input: { question: "Do heat pumps work in cold climates, and what do they cost to run?" },
    expected: { status: "done", step: "write", path: ["scope", "research", "write"] },
  },
  {
    name: "question the library cannot answer",
    input: { question: "What is the boiling point of liquid nitrogen?" },
    expected: { status: "done", step: "insufficient", path: ["scope", "research", "insufficient"] },
  },
  {
    name: "findings without citations",
    input: { question: "Are heat pumps quiet enough, uncited please?" },
    expected: { status: "done", step: "insufficient", path: ["scope", "research", "insufficient"] },
  },
]

const lastToolResults = (request: ModelRequest) => {
  const results: string[] = []
  for (let index = request.messages.length - 1; index >= 0 && request.messages[index]?.role === "tool"; index--)
    results.unshift(request.messages[index]?.content ?? "")
  return results
}

// The research model answers from the conversation: search first, read what the search found, then answer.
const researcher = (request: ModelRequest): ScriptedReply => {
  const task = request.messages.find((message) => message.role === "user")?.content ?? ""
  const turns = request.messages.filter((message) => message.role === "assistant").length
  if (turns === 0)
    return {
      toolCalls: [{ name: "searchLibrary", arguments: { query: task.split("\n")[0]?.replace("Question: ", "") ?? "" } }],
      usage: { inputTokens: 120, outputTokens: 20 },
    }
  if (turns === 1) {
    const found = JSON.parse(lastToolResults(request)[0] ?? "[]") as Array<{ id: string }>
    if (found.length === 0)
      return { toolCalls: [{ name: "finish", arguments: { reason: "nothing in the library" } }], usage: { inputTokens: 160, outputTokens: 15 } }
    return { toolCalls: found.map(({ id }) => ({ name: "readDocument", arguments: { id } })), usage: { inputTokens: 180, outputTokens: 30 } }
  }
  const read = lastToolResults(request).map((content) => JSON.parse(content) as { title: string; text: string })
  const uncited = task.includes("uncited")
  const ids = Object.entries(library)
    .filter(([, document]) => read.some((item) => item.title === document.title))
    .map(([id]) => id)
  return {
    object: { findings: read.map((item, index) => ({ claim: item.text, sources: uncited ? [] : [ids[index] ?? ""] })) },
    usage: { inputTokens: 400, outputTokens: 80 },
  }
}

/**
 * Models that answer from the request, so every sample runs offline.
 *
 * @example
 * const result = await researchReport.run(samples[0].input, { models: scriptedModels() })
 */
export const scriptedModels = (): Models => ({
  smart: scriptedModel([researcher], { repeat: true, name: "researcher" }),
  fast: scriptedModel([(request) => `Report\n${request.messages.at(-1)?.content.split("Findings:\n")[1] ?? ""}`], { repeat: true, name: "writer" }),
})
