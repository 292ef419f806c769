/**
 * Contract review: a lawyer and a pricing check look at a contract at the same time. The legal
 * review is a person (a human step inside a parallel branch, addressed `review.legal`, with a 24h
 * deadline); the pricing check is a model call that answers meanwhile and is not asked again when
 * the run resumes with the lawyer's decision. Both results are collected (`onBranchError:
 * "collect"`): a review nobody makes in time counts as not approved, and the contract goes back.
 *
 * ```text
 * review ═╦═ legal   (human, 24h) ═╦═▶ both fine ─▶ sign ─▶ done
 *         ╚═ pricing (llm)        ═╝   otherwise ─▶ revise ─▶ done
 * ```
 *
 * Decide the legal review of a paused run by its address:
 * `switchboard decide machines/contract-review.machine.ts <runId> review.legal --decision '{"approve":true}'`.
 */
import { z } from "zod"
import { fn, human, type ItemResult, llm, type ModelRequest, type Models, parallel, pipeline, route } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** The contract under review. */
export const ContractInput = z.object({ title: z.string().min(1), discountPercent: z.number().min(0).max(100) })

/** The lawyer's decision. */
export const LegalDecision = z.object({ approve: z.boolean(), note: z.string().optional() })

/** What the pricing check says. */
export const PricingVerdict = z.object({ withinPolicy: z.boolean(), reason: z.string() })

type Collected = {
  readonly legal: ItemResult<z.infer<typeof LegalDecision>>
  readonly pricing: ItemResult<z.infer<typeof PricingVerdict>>
}

// Why the contract cannot be signed as it is, if it cannot.
const objections = ({ legal, pricing }: Collected): string[] => [
  ...(legal.ok ? (legal.value.approve ? [] : [`legal: ${legal.value.note ?? "not approved"}`]) : [`legal: ${legal.error._tag}`]),
  ...(pricing.ok ? (pricing.value.withinPolicy ? [] : [`pricing: ${pricing.value.reason}`]) : [`pricing: ${pricing.error._tag}`]),
]

/** The contract-review pipeline. */
export const contractReview = pipeline({
  id: "contract-review",
  input: ContractInput,
  description: "A lawyer and a pricing check in parallel, then sign or revise",
})
  .step(
    "review",
    parallel({
      onBranchError: "collect",
      branches: {
        legal: human({
          decision: LegalDecision,
          timeout: "24h",
          prompt: ({ input }: { input: z.infer<typeof ContractInput> }) => `Legal review of "${input.title}": approve?`,
          description: "A lawyer approves the contract (24h)",
        }),
        pricing: llm({
          model: "fast",
          prompt: ({ input }: { input: z.infer<typeof ContractInput> }) => `Is a ${input.discountPercent}% discount within the pricing policy?`,
          output: PricingVerdict,
          description: "Checks the discount against the pricing policy",
        }),
      },
      description: "Legal review and pricing check at the same time; failures collected",
    }),
  )
  .step(
    "sign",
    fn(({ input }) => ({ signed: input.title }), { description: "Signs the contract" }),
  )
  .step(
    "revise",
    fn(({ input, steps }) => ({ revise: input.title, because: steps.review === undefined ? [] : objections(steps.review) }), {
      description: "Sends the contract back with the objections",
    }),
  )
  .edges({
    review: route(["sign", "revise"], ({ output }) => (objections(output).length === 0 ? "sign" : "revise")),
    sign: "done",
    revise: "done",
  })

export default contractReview

/** A sample input, the decisions a simulated person makes (by address), and how its run ends. */
export interface Sample {
  readonly name: string
  readonly input: z.infer<typeof ContractInput>
  readonly decisions?: Readonly<Record<string, z.infer<typeof LegalDecision>>>
  readonly expected: { readonly status: "done"; readonly step: "sign" | "revise"; readonly path: readonly string[] }
}

/** Samples: approved and within policy, refused by the lawyer, a discount over policy, and a review nobody makes in 24h. */
export const samples: readonly Sample[] = [
  {
    name: "approved, discount within policy",
    input: { title: "Acme support plan", discountPercent: 10 },
    decisions: { "review.legal": { approve: true } },
    expected: { status: "done", step: "sign", path: ["review", "sign"] },
  },
  {
    name: "the lawyer refuses",
    input: { title: "Globex licence", discountPercent: 5 },
    decisions: { "review.legal": { approve: false, note: "liability clause" } },
    expected: { status: "done", step: "revise", path: ["review", "revise"] },
  },
  {
    name: "approved, but the discount is over policy",
    input: { title: "Initech bundle", discountPercent: 40 },
    decisions: { "review.legal": { approve: true } },
    expected: { status: "done", step: "revise", path: ["review", "revise"] },
  },
  {
    name: "nobody reviews within 24h",
    input: { title: "Umbrella renewal", discountPercent: 10 },
    expected: { status: "done", step: "revise", path: ["review", "revise"] },
  },
]

/** No human step of the pipeline itself: its one person waits inside the `review` branch. */
export const sampleDecisions: Readonly<Record<string, readonly unknown[]>> = {}

// The scripted pricing check: up to 20% is within policy.
const reply = (request: ModelRequest): ScriptedReply => {
  const percent = Number(/a (\d+)% discount/.exec(String(request.messages.at(-1)?.content))?.[1] ?? 100)
  return { object: { withinPolicy: percent <= 20, reason: `${percent}% ${percent <= 20 ? "is" : "is over"} the 20% limit` }, delayMs: 30 }
}

/**
 * Scripted models that make every sample deterministic offline.
 *
 * @example
 * const paused = await contractReview.run(samples[0].input, { models: scriptedModels() })
 */
export const scriptedModels = (): Models => ({ fast: scriptedModel([reply], { name: "scripted-pricing", repeat: true }) })
