import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { chunkText, lexicalRetriever, loadDocuments } from "../../src/index.ts"
import { handbook, openSignal } from "./corpus.ts"

describe("lexicalRetriever", () => {
  const retriever = lexicalRetriever({ documents: handbook })

  it.each([
    ["how long until my refund is paid back", "refunds"],
    ["when do parcels ship and where is my tracking number", "shipping"],
    ["I forgot my password", "passwords"],
    ["VAT on invoices", "invoices"],
  ])("ranks the right document first for %j", async (query, expected) => {
    const passages = await retriever.retrieve(query, { k: 4, signal: openSignal() })
    expect(passages[0]).toMatchObject({ id: expected, source: `handbook/${expected}.md`, title: expect.any(String) })
    expect(passages[0]?.score).toBeGreaterThan(0)
    // best first
    expect(passages.map((passage) => passage.score)).toEqual([...passages.map((passage) => passage.score)].sort((left, right) => right - left))
  })

  it("finds nothing for a query that shares no word with the corpus (stop words do not count)", async () => {
    expect(await retriever.retrieve("what is the weather like in Paris", { k: 3, signal: openSignal() })).toEqual([])
  })

  it("returns at most k passages and matches word prefixes", async () => {
    const passages = await retriever.retrieve("refund parcel reset invoice", { k: 2, signal: openSignal() })
    expect(passages).toHaveLength(2)
  })

  it("rejects a bad k and duplicate ids with errors that say what is wrong", async () => {
    await expect(retriever.retrieve("refund", { k: 0, signal: openSignal() })).rejects.toThrow("k must be an integer >= 1, got 0")
    const twice = lexicalRetriever({ documents: [handbook[0]!, handbook[0]!] })
    await expect(twice.retrieve("refund", { k: 1, signal: openSignal() })).rejects.toThrow('documents[1] repeats the id "refunds"')
  })

  it("stops when the signal is already aborted", async () => {
    const controller = new AbortController()
    controller.abort(new Error("step left"))
    await expect(retriever.retrieve("refund", { k: 1, signal: controller.signal })).rejects.toThrow("step left")
  })
})

describe("chunkText and loadDocuments", () => {
  let folder: string | undefined
  afterEach(() => {
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true })
  })

  it("starts a chunk at each heading, joins paragraphs up to maxChars and splits long ones at sentence ends", () => {
    const long = Array.from({ length: 12 }, (_, index) => `Sentence number ${index} talks about shipping rules.`).join(" ")
    const chunks = chunkText(`Intro line.\n\n# Refunds\n\nFirst paragraph.\n\nSecond paragraph.\n\n## Shipping\n\n${long}`, { source: "faq.md", maxChars: 200 })
    expect(chunks[0]).toMatchObject({ id: "faq.md#1", text: "Intro line.", source: "faq.md" })
    expect(chunks[0]).not.toHaveProperty("title")
    expect(chunks[1]).toMatchObject({ id: "faq.md#2", title: "Refunds", text: "First paragraph.\n\nSecond paragraph." })
    const shipping = chunks.filter((chunk) => chunk.title === "Shipping")
    expect(shipping.length).toBeGreaterThan(1)
    for (const chunk of shipping) {
      expect(chunk.text.length).toBeLessThanOrEqual(200)
      expect(chunk.text).toMatch(/\.$/)
    }
    expect(shipping.map((chunk) => chunk.text).join(" ")).toBe(long)
  })

  it("loads .md and .txt files under a folder, with paths relative to it as sources", async () => {
    folder = mkdtempSync(join(tmpdir(), "switchboard-docs-"))
    mkdirSync(join(folder, "billing"))
    writeFileSync(join(folder, "billing", "refunds.md"), "# Refunds\n\nRefunds take five days.")
    writeFileSync(join(folder, "notes.txt"), "Parcels ship daily.")
    writeFileSync(join(folder, "image.png"), "not text")
    const documents = await loadDocuments(folder)
    expect(documents).toEqual([
      { id: "billing/refunds.md#1", text: "Refunds take five days.", source: "billing/refunds.md", title: "Refunds" },
      { id: "notes.txt#1", text: "Parcels ship daily.", source: "notes.txt" },
    ])
    const passages = await lexicalRetriever({ documents: loadDocuments(folder) }).retrieve("refund", { k: 1, signal: openSignal() })
    expect(passages[0]?.source).toBe("billing/refunds.md")
  })

  it("names the folder it cannot read", async () => {
    await expect(loadDocuments("/nonexistent/switchboard-docs")).rejects.toThrow('cannot read folder "/nonexistent/switchboard-docs"')
  })
})
