/**
 * Invoice extraction: a model reads the invoice into typed fields, code checks that the lines add
 * up to the stated total, and a person corrects what does not add up. A correction can ask for
 * another extraction with a hint; extraction runs at most three times.
 *
 * ```text
 * extract ─▶ validate ─┬─ totals agree ──────▶ record ─▶ done
 *    ▲                 └─ totals disagree ───▶ correct ─┬─ reextract (hint) ─▶ extract (max 3 runs, then reject)
 *    └──────────────────────────────────────────────────┤─ override total ───▶ record
 *                                                       └─ reject / 48h ─────▶ reject ─▶ done
 * ```
 */
import { z } from "zod"
import { fn, human, llm, type ModelRequest, type Models, maxVisits, pipeline, route } from "../src/index.ts"
import { type ScriptedReply, scriptedModel } from "../src/testing/index.ts"

/** The fields extracted from an invoice. */
export const Invoice = z.object({
  vendor: z.string(),
  invoiceNumber: z.string(),
  currency: z.string().length(3),
  lines: z.array(z.object({ description: z.string(), quantity: z.number(), unitPrice: z.number() })).min(1),
  total: z.number(),
})

/** What a person decides about an invoice whose totals disagree. */
export const Correction = z.discriminatedUnion("action", [
  z.object({ action: z.literal("reextract"), hint: z.string().min(1) }),
  z.object({ action: z.literal("override"), total: z.number() }),
  z.object({ action: z.literal("reject"), reason: z.string() }),
])

/** The document to read. */
export const InvoiceInput = z.object({ documentId: z.string(), text: z.string().min(1) })

const cents = (amount: number) => Math.round(amount * 100)

/** The invoice-extraction pipeline. */
export const invoiceExtraction = pipeline({ id: "invoice-extraction", input: InvoiceInput, description: "Extract invoice fields and check the totals" })
  .step(
    "extract",
    llm({
      model: "fast",
      system: "Extract the invoice fields as JSON. Copy numbers exactly.",
      prompt: ({ input, steps }) => {
        const correction = steps.correct as z.infer<typeof Correction> | undefined
        const hint = correction?.action === "reextract" ? `\nReviewer hint: ${correction.hint}` : ""
        return `Invoice ${input.documentId}:\n${input.text}${hint}`
      },
      output: Invoice,
      description: "Reads the invoice into typed fields",
    }),
  )
  .step(
    "validate",
    fn(
      ({ steps }) => {
        const invoice = steps.extract as z.infer<typeof Invoice>
        const computed = invoice.lines.reduce((sum, line) => sum + cents(line.quantity * line.unitPrice), 0)
        return { agrees: computed === cents(invoice.total), computedTotal: computed / 100, statedTotal: invoice.total }
      },
      { description: "Checks that the lines add up to the total" },
    ),
  )
  .step(
    "correct",
    human({
      decision: Correction,
      timeout: "48h",
      prompt: ({ input, steps }) =>
        `Invoice ${input.documentId}: lines add up to ${steps.validate?.computedTotal}, the invoice says ${steps.validate?.statedTotal}. Re-extract with a hint, override the total, or reject.`,
      description: "A clerk fixes an invoice whose totals disagree",
    }),
  )
  .step(
    "record",
    fn(
      ({ steps }) => {
        const invoice = steps.extract as z.infer<typeof Invoice>
        const correction = steps.correct
        return { ...invoice, total: correction?.action === "override" ? correction.total : invoice.total, corrected: correction !== undefined }
      },
      { description: "Records the accepted invoice" },
    ),
  )
  .step(
    "reject",
    fn(
      ({ input, steps }) => ({
        documentId: input.documentId,
        rejected: true as const,
        reason: steps.correct?.action === "reject" ? steps.correct.reason : "no usable extraction",
      }),
      { description: "Sends the invoice back" },
    ),
  )
  .edges({
    extract: { next: "validate", stop: maxVisits(3), stopped: "reject" },
    validate: route(["record", "correct"], ({ output }) => (output.agrees ? "record" : "correct")),
    correct: {
      next: route(["extract", "record", "reject"], ({ output }) =>
        output.action === "reextract" ? "extract" : output.action === "override" ? "record" : "reject",
      ),
      timeout: "reject",
    },
    record: "done",
    reject: "done",
  })

export default invoiceExtraction

/** A sample invoice: its input, the decisions the simulated clerk makes in order, and how the run ends. */
export interface Sample {
  readonly name: string
  readonly input: z.infer<typeof InvoiceInput>
  readonly decisions?: { readonly correct?: z.infer<typeof Correction> | ReadonlyArray<z.infer<typeof Correction>> }
  readonly expected: { readonly status: "done"; readonly step: "record" | "reject"; readonly path: readonly string[] }
}

/** Sample invoices covering the clean path, a re-extraction, an override and the stop rule. */
export const samples: readonly Sample[] = [
  {
    name: "clean invoice",
    input: { documentId: "INV-1", text: "ACME Tools — invoice 2024-001\n2 × hammer @ 12.50\n1 × saw @ 30.00\nTotal EUR 55.00" },
    expected: { status: "done", step: "record", path: ["extract", "validate", "record"] },
  },
  {
    name: "misread line, re-extracted",
    input: { documentId: "INV-2", text: "Globex — invoice 77\n3 × cable @ 4.00\n1 × router @ 89.00\nTotal USD 101.00" },
    decisions: { correct: { action: "reextract", hint: "the cable quantity is 3, not 8" } },
    expected: { status: "done", step: "record", path: ["extract", "validate", "correct", "extract", "validate", "record"] },
  },
  {
    name: "vendor typo, total overridden",
    input: { documentId: "INV-3", text: "Initech — invoice 9\n10 × paper @ 5.00\nTotal USD 55.00" },
    decisions: { correct: { action: "override", total: 50 } },
    expected: { status: "done", step: "record", path: ["extract", "validate", "correct", "record"] },
  },
  {
    name: "unreadable, stop rule",
    input: { documentId: "INV-4", text: "(blurred scan) … Total ??? 0" },
    decisions: {
      correct: [
        { action: "reextract", hint: "try again" },
        { action: "reextract", hint: "look harder" },
        { action: "reextract", hint: "once more" },
      ],
    },
    expected: {
      status: "done",
      step: "reject",
      path: ["extract", "validate", "correct", "extract", "validate", "correct", "extract", "validate", "correct", "reject"],
    },
  },
]

/** Decisions that reach every route out of `correct`, for graph checks. */
export const sampleDecisions = {
  correct: [
    { action: "reextract", hint: "check quantities" },
    { action: "override", total: 1 },
    { action: "reject", reason: "duplicate" },
  ],
} as const

type Extracted = z.infer<typeof Invoice>
const line = (description: string, quantity: number, unitPrice: number) => ({ description, quantity, unitPrice })

// What the scripted extractor reads from each sample (matched by document id; the hint fixes INV-2).
const extractions: Readonly<Record<string, (hinted: boolean) => Extracted>> = {
  "INV-1": () => ({ vendor: "ACME Tools", invoiceNumber: "2024-001", currency: "EUR", lines: [line("hammer", 2, 12.5), line("saw", 1, 30)], total: 55 }),
  "INV-2": (hinted) => ({
    vendor: "Globex",
    invoiceNumber: "77",
    currency: "USD",
    lines: [line("cable", hinted ? 3 : 8, 4), line("router", 1, 89)],
    total: 101,
  }),
  "INV-3": () => ({ vendor: "Initech", invoiceNumber: "9", currency: "USD", lines: [line("paper", 10, 5)], total: 55 }),
  "INV-4": () => ({ vendor: "unknown", invoiceNumber: "?", currency: "XXX", lines: [line("?", 1, 1)], total: 0 }),
}

const reply = (request: ModelRequest): ScriptedReply => {
  const prompt = request.messages.at(-1)?.content ?? ""
  const documentId = /^Invoice (\S+):/.exec(prompt)?.[1] ?? ""
  const extraction = extractions[documentId]
  if (extraction === undefined) return { fail: "invalid-request", message: `no scripted extraction for "${documentId}"` }
  return { object: extraction(prompt.includes("Reviewer hint")), delayMs: 50 }
}

/**
 * Scripted models that make every sample deterministic offline (replies depend on the request).
 *
 * @example
 * const result = await invoiceExtraction.run(samples[0].input, { models: scriptedModels() })
 */
export const scriptedModels = (): Models & { readonly fast: ReturnType<typeof scriptedModel> } => ({
  fast: scriptedModel([reply], { name: "scripted-extractor", repeat: true }),
})
