/**
 * 17 — recover, don't restart: a run translates five paragraphs with a `map` and fails on one of
 * them. `retry` runs that one paragraph again, nothing else; `fork` starts a new run from the
 * `translate` step with an edited glossary, reusing the recorded step before it; `drain` stops a
 * run at a step boundary (as SIGTERM does in `switchboard run` and `switchboard worker`) and leaves
 * it running in its journal, for `resume` to finish.
 *
 * Run: `npx node examples/17-retry-and-fork.ts`
 */
import { z } from "zod"
import { fn, llm, type ModelRequest, map, memoryJournal, pipeline } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

const Glossary = z.object({ terms: z.record(z.string(), z.string()) })

/** Glossary → one translation per paragraph (two at a time) → the joined text. */
export const translation = pipeline({ id: "translation", input: z.object({ paragraphs: z.array(z.string()) }) })
  .step("glossary", llm({ model: "fast", prompt: ({ input }) => `Glossary for: ${input.paragraphs.join(" ")}`, output: Glossary }))
  .step(
    "translate",
    map({
      over: ({ input, steps }) => input.paragraphs.map((text) => ({ text, terms: steps.glossary?.terms ?? {} })),
      each: llm({
        model: "fast",
        prompt: ({ input }: { input: { text: string; terms: Record<string, string> } }) => `Translate with ${JSON.stringify(input.terms)}: ${input.text}`,
      }),
      concurrency: 2,
    }),
  )
  .step(
    "join",
    fn(({ steps }) => steps.translate?.join(" ") ?? ""),
  )
  .edges({ glossary: "translate", translate: "join", join: "done" })

/** The paragraphs this example translates. */
export const paragraphs = ["The owl hunts.", "The owl sleeps.", "The owl is silent.", "The owl sees.", "The owl returns."]

// Answers from the prompt: a glossary, or each paragraph in French; `broken` fails one paragraph.
const translator =
  (glossary: Record<string, string>, broken?: string) =>
  (request: ModelRequest): ScriptedReply => {
    const prompt = String(request.messages.at(-1)?.content)
    if (prompt.startsWith("Glossary")) return { object: { terms: glossary } }
    const text = prompt.slice(prompt.indexOf(": ") + 2)
    if (text === broken) return { fail: "invalid-request", message: "the provider refused the request" }
    return { text: text.replace("The owl", glossary["owl"] === undefined ? "Le hibou" : `La ${glossary["owl"]}`) }
  }

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Fails a run on one paragraph, retries it, forks it with another glossary, and drains a third run.
 *
 * @example
 * const { retried, forked } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const journal = memoryJournal()
  const input = { paragraphs }

  const first = scriptedModel([translator({}, "The owl is silent.")], { repeat: true })
  const failed = await translation.run(input, { journal, runId: "t-1", models: { fast: first } })
  log(`1. run: ${failed.status}${failed.status === "failed" ? ` at ${"step" in failed.error ? failed.error.step : "?"}: ${failed.error.message}` : ""}`)

  const fixed = scriptedModel([translator({})], { repeat: true })
  const retried = await translation.retry("t-1", { journal, models: { fast: fixed } })
  const entries = await journal.read("t-1")
  const since = entries.findIndex((entry) => entry.type === "run.retried")
  const rerun = entries.slice(since).flatMap((entry) => (entry.type === "step.started" ? [entry.step] : []))
  log(`2. retry: ${retried.status}; ran again: ${rerun.join(", ")} (${fixed.calls.length} model calls)`)
  log(`   ${retried.status === "done" ? retried.output : ""}`)

  const owlet = scriptedModel([translator({ owl: "chouette" })], { repeat: true })
  const forked = await translation.fork("t-1", {
    journal,
    at: { step: "translate" },
    edit: { outputs: { glossary: { terms: { owl: "chouette" } } } },
    runId: "t-2",
    models: { fast: owlet },
  })
  const started = (await journal.read("t-2"))[0]
  log(
    `3. fork: ${forked.status}, ${owlet.calls.length} model call(s), forked from ${JSON.stringify(started?.type === "run.started" ? started.forkedFrom : undefined)}`,
  )
  log(`   ${forked.status === "done" ? forked.output : ""}`)

  // A deploy: the run is drained while its glossary is being made; it stops before translate.
  const drain = new AbortController()
  const slow = scriptedModel([(request) => ({ ...(translator({})(request) as object), delayMs: 20 }) as ScriptedReply], { repeat: true })
  const handle = translation.start(input, { journal, runId: "t-3", models: { fast: slow }, drain: drain.signal })
  for await (const event of handle.events) if (event.type === "step.started" && event.step === "glossary") break
  drain.abort()
  const drained = await handle.result
  const left = (await journal.read("t-3")).map((entry) => entry.type)
  log(`4. drain: ${drained.status}, journal ends ${left.at(-1)}, run.finished journaled: ${left.includes("run.finished")}`)
  const resumed = await translation.resume("t-3", { journal, models: { fast: slow } })
  log(`   resume: ${resumed.status}, ${slow.calls.length} model call(s) in all`)
  return { failed, retried, rerun, retryCalls: fixed.calls.length, forked, forkCalls: owlet.calls.length, drained, left, resumed }
}

if (import.meta.filename === process.argv[1]) await main()
