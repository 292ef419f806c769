/**
 * 06 — one pipeline, any provider. The pipeline names model aliases (`fast`, `smart`); the run maps
 * them to real models, chosen here by environment:
 *  - `SWITCHBOARD_COMPATIBLE_BASE_URL` (+ `SWITCHBOARD_COMPATIBLE_MODEL`, default `llama3.2`): a local
 *    OpenAI-compatible server such as Ollama (`http://127.0.0.1:11434/v1`), vLLM or llama.cpp.
 *    It wins over the keys below: it is set for this example on purpose, a key may just sit in the shell.
 *  - `OPENAI_API_KEY`: OpenAI (`OPENAI_MODEL`, default `gpt-4.1-mini`, for `fast`; `OPENAI_SMART_MODEL`,
 *    default `gpt-4.1`, for `smart`).
 *  - `ANTHROPIC_API_KEY`: Anthropic (`ANTHROPIC_MODEL`, default `claude-3-5-haiku-latest`, for `fast`;
 *    `ANTHROPIC_SMART_MODEL`, default `claude-sonnet-4-0`, for `smart`).
 *  - none of them: scripted models, offline.
 * `classify` returns a zod-validated object (re-asked once with the issues when it does not match);
 * `answer` streams its text as `model.delta` events. The run's usage and cost come last.
 *
 * Run: `npx node examples/06-providers.ts`, e.g. `OPENAI_API_KEY=sk-... npx node examples/06-providers.ts`
 */
import { z } from "zod"
import { anthropic, llm, type Models, openai, openaiCompatible, pipeline, type RunEvent, type RunOptions } from "../src/index.ts"
import { scriptedModel } from "../src/testing/index.ts"

const Classification = z.object({
  kind: z.enum(["refund", "bug", "question"]),
  urgency: z.enum(["low", "normal", "high"]),
  summary: z.string(),
})

/** Classify a support ticket into a typed object, then stream a short answer to the customer. */
export const support = pipeline({ id: "provider-support", input: z.object({ ticket: z.string() }) })
  .step(
    "classify",
    llm({
      model: "fast",
      system: "You triage customer support tickets.",
      prompt: ({ input }) => `Classify this ticket and summarise it in one sentence:\n${input.ticket}`,
      output: Classification,
      repair: 1,
    }),
  )
  .step(
    "answer",
    llm({
      model: "smart",
      system: "You are a friendly support agent. Answer in at most three sentences.",
      prompt: ({ input, steps }) => `Ticket (${steps.classify?.kind}, ${steps.classify?.urgency} urgency): ${input.ticket}`,
      stream: true,
      maxOutputTokens: 300,
      // A stream that does not start, or stalls, fails the attempt as a retryable timeout.
      policy: { firstTokenTimeout: "20s", idleTimeout: "10s" },
    }),
  )
  .edges({ classify: "answer", answer: "done" })

/** Which provider the environment selected, and the models and prices to run with. */
export interface ProviderChoice {
  readonly provider: "openai-compatible" | "openai" | "anthropic" | "scripted"
  readonly models: Models
  readonly prices?: RunOptions["prices"]
}

const setting = (environment: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = environment[name]?.trim()
  return value === undefined || value === "" ? undefined : value
}

/**
 * Maps the aliases `fast` and `smart` to models, by what the environment provides (see the top of the file).
 *
 * @example
 * const { provider, models } = chooseModels(process.env)
 */
export const chooseModels = (environment: NodeJS.ProcessEnv = process.env): ProviderChoice => {
  const compatibleUrl = setting(environment, "SWITCHBOARD_COMPATIBLE_BASE_URL")
  if (compatibleUrl !== undefined) {
    const model = setting(environment, "SWITCHBOARD_COMPATIBLE_MODEL") ?? "llama3.2"
    const local = openaiCompatible({ baseURL: compatibleUrl, model })
    // A local model costs nothing; priced at zero, its calls count as priced rather than unknown.
    return { provider: "openai-compatible", models: { fast: local, smart: local }, prices: { [`openai-compatible:${model}`]: { input: 0, output: 0 } } }
  }
  if (setting(environment, "OPENAI_API_KEY") !== undefined) {
    const fast = setting(environment, "OPENAI_MODEL") ?? "gpt-4.1-mini"
    const smart = setting(environment, "OPENAI_SMART_MODEL") ?? "gpt-4.1"
    return { provider: "openai", models: { fast: openai({ model: fast }), smart: openai({ model: smart }) } }
  }
  if (setting(environment, "ANTHROPIC_API_KEY") !== undefined) {
    const fast = setting(environment, "ANTHROPIC_MODEL") ?? "claude-3-5-haiku-latest"
    const smart = setting(environment, "ANTHROPIC_SMART_MODEL") ?? "claude-sonnet-4-0"
    return { provider: "anthropic", models: { fast: anthropic({ model: fast }), smart: anthropic({ model: smart }) } }
  }
  return {
    provider: "scripted",
    models: {
      fast: scriptedModel(
        [{ object: { kind: "refund", urgency: "high", summary: "Charged twice for one order." }, usage: { inputTokens: 52, outputTokens: 18 } }],
        { name: "fast" },
      ),
      smart: scriptedModel(
        [
          {
            text: "Sorry about the double charge! I have refunded the duplicate payment; it will reach your card within 5 business days.",
            usage: { inputTokens: 61, outputTokens: 27 },
          },
        ],
        { name: "smart" },
      ),
    },
    // Made-up prices (USD per million tokens), so the offline run shows how cost is counted.
    prices: { "scripted:fast": { input: 0.4, output: 1.6 }, "scripted:smart": { input: 2, output: 8 } },
  }
}

/** Options of this example's `main`: where lines go, and where streamed text goes (tests pass silent ones). */
export interface ProviderExampleOptions {
  readonly log?: (line: string) => void
  /** Receives each streamed chunk as it arrives (default: standard output, without line breaks). */
  readonly write?: (text: string) => void
}

/**
 * Runs the pipeline on the provider the environment selects, streaming the answer, then prints the
 * result and the run's usage and cost.
 *
 * @example
 * const { provider, result, streamed } = await main({ log: () => {}, write: () => {} })
 */
export const main = async ({ log = console.log, write = (text) => void process.stdout.write(text) }: ProviderExampleOptions = {}) => {
  const { provider, models, prices } = chooseModels(process.env)
  log(`provider: ${provider} (fast = ${models["fast"]?.model}, smart = ${models["smart"]?.model})`)
  const events: RunEvent[] = []
  let streamed = ""
  const result = await support.run(
    { ticket: "I was charged twice for order A-1042. Please refund one of the payments." },
    {
      models,
      ...(prices === undefined ? {} : { prices }),
      onEvent: (event) => {
        events.push(event)
        if (event.type === "model.delta") {
          if (streamed === "") write("answer: ")
          streamed += event.text
          write(event.text)
        }
        if (event.type === "step.finished" && event.step === "answer" && streamed !== "") write("\n")
        if (event.type === "model.repair")
          log(`  ${event.step}: answer did not match the schema, asking again (${event.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")})`)
        if (event.type === "step.retried")
          log(
            `  ${event.step}: attempt ${event.attempt} failed (${event.error._tag === "ModelError" ? event.error.reason : event.error._tag}), retrying in ${event.delayMs}ms`,
          )
        if (event.type === "step.finished" && event.step === "classify") log(`classify → ${JSON.stringify(event.output)}`)
      },
    },
  )
  if (result.status === "done") log(`→ done in ${result.durationMs}ms`)
  else log(`→ ${result.status}${result.status === "failed" ? `: ${result.error.message}` : ""}`)
  const { usage } = result
  const cost =
    usage.unpricedCalls === usage.calls
      ? "no price known"
      : `$${usage.costUsd.toFixed(6)}${usage.unpricedCalls > 0 ? ` (+${usage.unpricedCalls} unpriced calls)` : ""}`
  log(`usage: ${usage.calls} calls, ${usage.inputTokens} input tokens (${usage.cachedInputTokens} cached), ${usage.outputTokens} output tokens, cost ${cost}`)
  return { provider, result, streamed, events, models }
}

if (import.meta.filename === process.argv[1]) await main()
