import { describe, expect, it } from "vitest"
import { type Embedder, embeddingRetriever } from "../../src/index.ts"
import { scriptedEmbedder } from "../../src/testing/index.ts"
import { handbook, openSignal } from "./corpus.ts"

describe("embeddingRetriever", () => {
  it("ranks a known corpus with the scripted embedder, embedding the documents only once", async () => {
    const embedder = scriptedEmbedder()
    const retriever = embeddingRetriever({ embedder, documents: handbook, batchSize: 3 })
    expect((await retriever.retrieve("my refund: when is it paid back to my card?", { k: 2, signal: openSignal() }))[0]?.id).toBe("refunds")
    expect((await retriever.retrieve("password reset link expired", { k: 2, signal: openSignal() }))[0]?.id).toBe("passwords")
    // two batches of documents (3 + 1), then one call per query
    expect(embedder.calls.map((call) => call.texts.length)).toEqual([3, 1, 1, 1])
  })

  it("scores cosine similarity: 1 for the same words, 0 for none in common", async () => {
    const retriever = embeddingRetriever({ embedder: scriptedEmbedder(), documents: handbook })
    const [same] = await retriever.retrieve(handbook[1]!.text, { k: 1, signal: openSignal() })
    expect(same).toMatchObject({ id: "shipping" })
    expect(same?.score).toBeCloseTo(1, 6)
    const unrelated = await retriever.retrieve("weather forecast Paris", { k: 4, signal: openSignal() })
    expect(unrelated.every((passage) => passage.score === 0)).toBe(true)
  })

  it("tries indexing again after an embedder failure", async () => {
    let fail = true
    const inner = scriptedEmbedder()
    const flaky: Embedder = {
      embed: async (texts, options) => {
        if (fail) throw new Error("rate limited")
        return inner.embed(texts, options)
      },
    }
    const retriever = embeddingRetriever({ embedder: flaky, documents: handbook })
    await expect(retriever.retrieve("refund", { k: 1, signal: openSignal() })).rejects.toThrow("rate limited")
    fail = false
    expect((await retriever.retrieve("refund card", { k: 1, signal: openSignal() }))[0]?.id).toBe("refunds")
  })

  it("a cancelled query does not cancel the indexing other queries wait for", async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const inner = scriptedEmbedder()
    const slow: Embedder = { embed: async (texts, options) => (await gate, inner.embed(texts, options)) }
    const retriever = embeddingRetriever({ embedder: slow, documents: handbook })
    const cancelled = new AbortController()
    const first = retriever.retrieve("refund card", { k: 1, signal: cancelled.signal })
    const second = retriever.retrieve("password reset", { k: 1, signal: openSignal() })
    cancelled.abort(new Error("step left"))
    await expect(first).rejects.toThrow("step left")
    release()
    expect((await second)[0]?.id).toBe("passwords")
    // documents embedded once, one call for the query that stayed
    expect(inner.calls.map((call) => call.texts.length)).toEqual([4, 1])
  })

  it("names an embedder that returns the wrong number of vectors", async () => {
    const broken: Embedder = { embed: async () => [[1, 0]] }
    const retriever = embeddingRetriever({ embedder: broken, documents: handbook })
    await expect(retriever.retrieve("refund", { k: 1, signal: openSignal() })).rejects.toThrow("returned 1 vectors for 4 texts (documents)")
  })
})
