/**
 * 05 — retries, timeouts and fallbacks, declared as policy and run by Effect:
 *  - `summarize` is rate-limited once; the retry waits the `retryAfterMs` the provider asked for.
 *  - `translate` hangs on its first attempt; `attemptTimeout` aborts it and the retry succeeds.
 *  - `headline` keeps failing on `primary`; after its retries the step falls back to `backup`.
 *
 * Run: `npx node examples/05-retry-timeout-fallback.ts` (about two seconds of real waiting)
 */
import { z } from "zod"
import { llm, pipeline, type RunEvent } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const noJitter = { initialDelay: "100ms", factor: 2, jitter: false } as const

/** Summarize, translate and title an article, each step with its own failure policy. */
export const resilient = pipeline({ id: "resilient-summary", input: z.object({ article: z.string() }) })
  .step("summarize", llm({ model: "fast", prompt: ({ input }) => `Summarize: ${input.article}`, policy: { retry: { attempts: 3, ...noJitter } } }))
  .step(
    "translate",
    llm({
      model: "slow",
      prompt: ({ steps }) => `Translate to French: ${steps.summarize}`,
      policy: { retry: { attempts: 2, ...noJitter }, attemptTimeout: "500ms" },
    }),
  )
  .step(
    "headline",
    llm({
      model: "primary",
      fallback: ["backup"],
      prompt: ({ steps }) => `A headline for: ${steps.summarize}`,
      policy: { retry: { attempts: 2, ...noJitter } },
    }),
  )
  .edges({ summarize: "translate", translate: "headline", headline: "done" })

/** Milliseconds the scripted provider asks us to wait after its rate limit. */
export const retryAfterMs = 1_000

/** Scripted models that fail the way real providers do: a 429, a hang, a 503 twice. */
export const flakyModels = () => ({
  // With OPENAI_API_KEY set, the real providers will plug in here under the same aliases.
  fast: scriptedModel([{ fail: "rate-limited", status: 429, retryAfterMs }, "Owls hunt silently at night."], { name: "fast" }),
  slow: scriptedModel([{ hang: true }, "Les hiboux chassent en silence la nuit."], { name: "slow" }),
  primary: scriptedModel(
    [
      { fail: "server", status: 503 },
      { fail: "server", status: 503 },
    ],
    { name: "primary" },
  ),
  backup: scriptedModel(["Silent hunters"], { name: "backup" }),
})

/** Options of every example's `main`: where lines go (tests pass `() => {}`). */
export interface ExampleOptions {
  readonly log?: (line: string) => void
}

const describeEvent = (event: RunEvent): string | undefined => {
  switch (event.type) {
    case "step.retried":
      return `  ${event.step}: attempt ${event.attempt} failed (${event.error._tag === "ModelError" ? event.error.reason : event.error._tag}), retrying in ${event.delayMs}ms`
    case "model.fallback":
      return `  ${event.step}: ${event.from} gave up, falling back to ${event.to}`
    case "step.finished":
      return `  ${event.step}: ${JSON.stringify(event.output)} after ${event.attempts} attempt(s), ${event.durationMs}ms`
    default:
      return undefined
  }
}

/**
 * Runs the pipeline offline against flaky scripted models and prints every retry and fallback.
 *
 * @example
 * const { result, events, models } = await main({ log: () => {} })
 */
export const main = async ({ log = console.log }: ExampleOptions = {}) => {
  const models = flakyModels()
  const events: RunEvent[] = []
  const result = await resilient.run(
    { article: "Owls have soft feathers that let them hunt silently." },
    {
      models,
      onEvent: (event) => {
        events.push(event)
        const line = describeEvent(event)
        if (line !== undefined) log(line)
      },
    },
  )
  log(`→ ${result.status}${result.status === "done" ? `: ${JSON.stringify(result.output)}` : ""} in ${result.durationMs}ms`)
  return { result, events, models }
}

if (import.meta.filename === process.argv[1]) await main()
