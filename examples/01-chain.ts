/**
 * 01 — a chain: three steps, each reading the typed output of the one before.
 *
 * Run: `npx node examples/01-chain.ts`
 */
import { z } from "zod"
import { fn, llm, pipeline } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const Outline = z.object({ title: z.string(), points: z.array(z.string()).min(1) })

/** Outline a post, write it from the outline, then count its words. */
export const writePost = pipeline({ id: "write-post", input: z.object({ topic: z.string() }) })
  .step("outline", llm({ model: "fast", prompt: ({ input }) => `Outline a short post about ${input.topic}.`, output: Outline }))
  .step(
    "write",
    llm({
      model: "fast",
      system: "You write short, plain posts.",
      prompt: ({ steps }) => `Write "${steps.outline?.title}" covering: ${steps.outline?.points.join("; ")}`,
    }),
  )
  .step(
    "count",
    fn(({ steps }) => ({ post: steps.write ?? "", words: (steps.write ?? "").split(/\s+/).filter(Boolean).length })),
  )
  .edges({ outline: "write", write: "count", count: "done" })

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

/**
 * Runs the chain offline with a scripted model and prints each step's output.
 *
 * @example
 * const { result } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  // With OPENAI_API_KEY set, the real provider will plug in here as `fast`; offline, a script answers.
  const fast = scriptedModel([
    { object: { title: "Why owls hunt at night", points: ["quiet feathers", "huge eyes", "sharp hearing"] } },
    "Owls hunt at night because their feathers are quiet, their eyes are huge and their hearing is sharp.",
  ])
  const result = await writePost.run(
    { topic: "owls" },
    { models: { fast }, onEvent: (event) => event.type === "step.finished" && log(`${event.step.padEnd(8)} → ${JSON.stringify(event.output)}`) },
  )
  // A done result is typed by the step that finished it; `count` is the only step that routes to done.
  log(result.status === "done" && result.step === "count" ? `done: ${result.output.words} words` : `ended ${result.status}`)
  return { result, calls: fast.calls.length }
}

if (import.meta.filename === process.argv[1]) await main()
