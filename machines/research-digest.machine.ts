/**
 * Research digest: read every source of a question at once (at most four model calls in flight),
 * keep what each source says about the question, and write an answer from the sources that were
 * relevant. A source the model cannot read is collected as a failure instead of failing the run;
 * with no usable source at all, the run says so instead of inventing an answer.
 *
 * ```text
 * read (map over sources, 4 at a time, failures collected) ─┬─ some source relevant ─▶ write ─▶ done
 *                                                            └─ none ────────────────▶ insufficient ─▶ done
 * ```
 *
 * Each source is journaled as `read[<index>]`: a run resumed after a crash reads only the sources
 * it had not finished.
 */
import { z } from "zod"
import { fn, type ItemResult, llm, type ModelRequest, type Models, map, pipeline, route } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** One source to read. */
export const Source = z.object({ url: z.string(), text: z.string() })

/** The question and its sources. */
export const DigestInput = z.object({ question: z.string().min(1), sources: z.array(Source).max(50) })

/** What one source says about the question. */
export const SourceNotes = z.object({ relevant: z.boolean(), facts: z.array(z.string()) })

type Notes = z.infer<typeof SourceNotes>
type Reading = { readonly question: string; readonly url: string; readonly text: string }

const usable = (results: ReadonlyArray<ItemResult<Notes>> | undefined) =>
  (results ?? []).flatMap((result) => (result.ok && result.value.relevant ? [result.value] : []))

/** The research-digest pipeline. */
export const researchDigest = pipeline({ id: "research-digest", input: DigestInput, description: "Read every source, answer from the relevant ones" })
  .step(
    "read",
    map({
      over: ({ input }) => input.sources.map((source) => ({ question: input.question, ...source })),
      each: llm({
        model: "fast",
        system: "Say whether the source answers the question, and list its facts that do.",
        prompt: ({ input }: { input: Reading }) => `Question: ${input.question}\nSource ${input.url}:\n${input.text}`,
        output: SourceNotes,
        policy: { retry: { attempts: 2, initialDelay: "1s" } },
      }),
      concurrency: 4,
      maxItems: 50,
      onItemError: "collect",
      description: "Reads each source (4 at a time); unreadable ones are collected",
    }),
  )
  .step(
    "write",
    llm({
      model: "fast",
      prompt: ({ input, steps }) =>
        `Answer "${input.question}" from these facts only:\n${usable(steps.read)
          .flatMap((notes) => notes.facts)
          .map((fact) => `- ${fact}`)
          .join("\n")}`,
      description: "Writes the answer from the relevant sources",
    }),
  )
  .step(
    "insufficient",
    fn(
      ({ input, steps }) => ({
        answer: null,
        reason: `none of the ${input.sources.length} sources answers "${input.question}"`,
        unreadable: (steps.read ?? []).filter((result) => !result.ok).length,
      }),
      { description: "Says that the sources do not answer the question" },
    ),
  )
  .edges({
    read: route(["write", "insufficient"], ({ output }) => (usable(output).length > 0 ? "write" : "insufficient")),
    write: "done",
    insufficient: "done",
  })

export default researchDigest

/** A sample input and how its run ends. */
export interface Sample {
  readonly name: string
  readonly input: z.infer<typeof DigestInput>
  readonly expected: { readonly status: "done"; readonly step: "write" | "insufficient"; readonly path: readonly string[] }
}

/** Sample questions: answered from relevant sources, answered despite an unreadable source, unanswerable. */
export const samples: readonly Sample[] = [
  {
    name: "three relevant sources",
    input: {
      question: "When do barn owls hunt?",
      sources: [
        { url: "https://example.org/owls", text: "Barn owls hunt at night." },
        { url: "https://example.org/hearing", text: "Their hearing finds prey in darkness." },
        { url: "https://example.org/dusk", text: "Some start hunting at dusk." },
      ],
    },
    expected: { status: "done", step: "write", path: ["read", "write"] },
  },
  {
    name: "an unreadable source is collected, the others answer",
    input: {
      question: "When do barn owls hunt?",
      sources: [
        { url: "https://example.org/owls", text: "Barn owls hunt at night." },
        { url: "https://example.org/scan.pdf", text: "(binary)" },
      ],
    },
    expected: { status: "done", step: "write", path: ["read", "write"] },
  },
  {
    name: "no relevant source",
    input: { question: "When do barn owls hunt?", sources: [{ url: "https://example.org/tea", text: "Green tea steeps for two minutes." }] },
    expected: { status: "done", step: "insufficient", path: ["read", "insufficient"] },
  },
]

// The scripted reader: a source about owls is relevant; "(binary)" cannot be read at all.
const reply = (request: ModelRequest): ScriptedReply => {
  const prompt = String(request.messages.at(-1)?.content)
  if (prompt.startsWith("Answer")) return { text: `Mostly at night. (${prompt.split("\n- ").length - 1} facts)`, delayMs: 40 }
  if (prompt.includes("(binary)")) return { fail: "invalid-request", message: "the source is not text", delayMs: 10 }
  const text = prompt.split("\n").at(-1) ?? ""
  const relevant = /owl|prey|hunt/i.test(text)
  return { object: { relevant, facts: relevant ? [text] : [] }, delayMs: 20 + (prompt.length % 3) * 10 }
}

/**
 * Scripted models that make every sample deterministic offline (replies depend on the request).
 *
 * @example
 * const result = await researchDigest.run(samples[0].input, { models: scriptedModels() })
 */
export const scriptedModels = (): Models & { readonly fast: ReturnType<typeof scriptedModel> } => ({
  fast: scriptedModel([reply], { name: "scripted-reader", repeat: true }),
})
