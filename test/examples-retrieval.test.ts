// Examples 09 and 10 run silenced and must do what their comments promise.
import { describe, expect, it } from "vitest"
import { handbook, helpDesk, main as rag } from "../examples/09-rag-with-relevance-check.ts"
import { answerer, main as routeByDifficulty } from "../examples/10-route-by-difficulty.ts"
import { coverage, paths } from "../src/index.ts"

const silent = { log: () => {} }

describe("examples: retrieval and routing", () => {
  it("09 answers from the handbook with a numbered source, and says politely when it does not know", async () => {
    const [refund, holidays, weather] = await rag(silent)
    expect(refund?.routes).toEqual(["answer", "cite", "done"])
    expect(refund?.result).toMatchObject({ status: "done", output: { answer: expect.stringContaining("[1]"), sources: ["[1] refunds.md"] } })
    // the grader saw the question and the numbered passages; the answer step got them as sources
    expect(String(refund?.calls[0]?.request.messages.at(-1)?.content)).toContain("Question: How long does a refund take?")
    expect(String(refund?.calls[1]?.request.messages.at(-1)?.content)).toMatch(/^\[1\] refunds\.md — Refunds\nRefunds go back to the card/)
    // passages were found, but the grader judged none relevant: the empty edge
    expect(holidays?.routes).toEqual(["dontKnow", "done"])
    expect(holidays?.calls).toHaveLength(1)
    expect(holidays?.result).toMatchObject({ status: "done", output: { answer: expect.stringContaining("does not say"), sources: [] } })
    // nothing in common with the handbook: empty before any model call
    expect(weather?.routes).toEqual(["dontKnow", "done"])
    expect(weather?.calls).toHaveLength(0)
  })

  it("09 loads the handbook folder chunked by headings", async () => {
    expect(await handbook.documentCount()).toBe(7)
    const passages = await handbook.retrieve("gift card refund", { k: 2, signal: new AbortController().signal })
    expect(passages[0]?.source).toBe("gift-cards.txt")
  })

  it("09 and 10: path tests cover every transition, the empty edge and both model routes included", async () => {
    for (const pipeline of [helpDesk, answerer]) {
      const found = await paths(pipeline)
      expect(coverage(pipeline, found).uncovered).toEqual([])
    }
    expect((await paths(helpDesk, { failures: false })).map((path) => path.name)).toContain("search → dontKnow → done")
  })

  it("10 routes an easy question to the cheap model and a hard one to the strong model", async () => {
    const [easy, hard] = await routeByDifficulty(silent)
    expect(easy).toMatchObject({ result: { status: "done", step: "quick", output: "Lisbon." }, answeredBy: ["cheap"], cheapCalls: 2, strongCalls: 0 })
    expect(hard).toMatchObject({ result: { status: "done", step: "thorough" }, answeredBy: ["strong"], cheapCalls: 1, strongCalls: 1 })
  })
})
