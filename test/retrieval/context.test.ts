import { describe, expect, it } from "vitest"
import { assembleContext, estimateTokens, type Passage } from "../../src/index.ts"

const passage = (id: string, text: string, source?: string): Passage => ({ id, text, score: 1, ...(source === undefined ? {} : { source }) })

describe("assembleContext", () => {
  const passages = [
    passage("a", "Refunds are paid within five working days.", "refunds.md"),
    passage("b", "x".repeat(400), "long.md"),
    passage("c", "Parcels ship every weekday.", "shipping.md"),
  ]

  it("numbers the passages it keeps, in order, under a header naming the source", () => {
    const context = assembleContext(passages, { maxTokens: 1000 })
    expect(context.citations.map((citation) => [citation.number, citation.id, citation.source])).toEqual([
      [1, "a", "refunds.md"],
      [2, "b", "long.md"],
      [3, "c", "shipping.md"],
    ])
    expect(context.text.startsWith("[1] refunds.md\nRefunds are paid within five working days.\n\n[2] long.md\n")).toBe(true)
    expect(context.omitted).toEqual([])
    expect(context.tokens).toBe(estimateTokens(context.text))
  })

  it("keeps the budget: a passage that does not fit is left out, a later shorter one still fits, numbers stay contiguous", () => {
    const context = assembleContext(passages, { maxTokens: 40 })
    expect(context.tokens).toBeLessThanOrEqual(40)
    expect(estimateTokens(context.text)).toBeLessThanOrEqual(40)
    expect(context.omitted).toEqual(["b"])
    expect(context.citations.map((citation) => [citation.number, citation.id])).toEqual([
      [1, "a"],
      [2, "c"],
    ])
    expect(context.text).toContain("[2] shipping.md\nParcels ship every weekday.")
  })

  it("uses a given tokenizer and header, and an empty budget keeps nothing", () => {
    const words = (text: string) => text.split(/\s+/).filter(Boolean).length
    const context = assembleContext(passages, { maxTokens: 11, countTokens: words, header: (citation) => `Source ${citation.number}:` })
    expect(context.text).toBe("Source 1:\nRefunds are paid within five working days.")
    expect(context.tokens).toBe(9)
    expect(assembleContext(passages, { maxTokens: 0 })).toEqual({ text: "", citations: [], tokens: 0, omitted: ["a", "b", "c"] })
    expect(() => assembleContext(passages, { maxTokens: -1 })).toThrow("maxTokens must be a number >= 0, got -1")
  })
})
