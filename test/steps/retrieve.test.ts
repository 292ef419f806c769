import { describe, expect, it } from "vitest"
import { z } from "zod"
import {
  chartOf,
  embeddingRetriever,
  fn,
  lexicalRetriever,
  llm,
  ModelError,
  memoryJournal,
  PipelineDefinitionError,
  paths,
  pipeline,
  type Retriever,
  type RunEvent,
  retrieve,
} from "../../src/index.ts"
import { scriptedEmbedder, scriptedModel } from "../../src/testing/index.ts"
import { handbook } from "../retrieval/corpus.ts"

const Question = z.object({ question: z.string() })

/** A RAG pipeline over the handbook: search, then answer from the passages or say "don't know". */
const rag = (options: { retriever?: Retriever; minScore?: number; relevance?: boolean } = {}) =>
  pipeline({ id: "rag", input: Question })
    .step(
      "search",
      retrieve({
        retriever: options.retriever ?? lexicalRetriever({ documents: handbook }),
        query: ({ input }) => input.question,
        k: 3,
        ...(options.minScore === undefined ? {} : { minScore: options.minScore }),
        ...(options.relevance === true ? { relevance: { model: "fast" } } : {}),
      }),
    )
    .step("answer", llm({ model: "fast", prompt: ({ steps }) => `Answer from: ${steps.search?.passages.map((passage) => passage.id).join(", ")}` }))
    .step(
      "dontKnow",
      fn(() => "Sorry, I don't know."),
    )
    .edges({ search: { next: "answer", empty: "dontKnow" }, answer: "done", dontKnow: "done" })

describe("retrieve step", () => {
  it("passes the passages to the next step, best first, and journals them with step.finished", async () => {
    const fast = scriptedModel(["Refunds take five working days."])
    const journal = memoryJournal()
    const result = await rag().run({ question: "when is my refund paid back" }, { models: { fast }, journal, runId: "r1" })
    expect(result).toMatchObject({ status: "done", step: "answer" })
    if (result.status !== "done") return
    expect(result.steps.search?.query).toBe("when is my refund paid back")
    expect(result.steps.search?.passages[0]?.id).toBe("refunds")
    expect(fast.calls[0]?.request.messages.at(-1)?.content).toMatch(/^Answer from: refunds/)
    const finished = (await journal.read("r1")).find((entry) => entry.type === "step.finished" && entry.step === "search")
    expect(finished).toMatchObject({ next: "answer", output: { passages: expect.arrayContaining([expect.objectContaining({ id: "refunds" })]) } })
  })

  it("takes the empty edge for an unrelated query, without calling the model", async () => {
    const fast = scriptedModel([])
    const routes: string[] = []
    const onEvent = (event: RunEvent) => event.type === "route.taken" && routes.push(`${event.from}→${event.to}`)
    const result = await rag().run({ question: "what is the weather in Paris" }, { models: { fast }, onEvent })
    expect(result).toMatchObject({ status: "done", step: "dontKnow", output: "Sorry, I don't know." })
    expect(routes).toEqual(["search→dontKnow", "dontKnow→done"])
    expect(fast.calls).toHaveLength(0)
  })

  it("drops passages under minScore and names them in dropped", async () => {
    const embedder = scriptedEmbedder()
    const retriever = embeddingRetriever({ embedder, documents: handbook })
    const result = await rag({ retriever, minScore: 0.2 }).run({ question: "reset my password" }, { models: { fast: scriptedModel(["Open settings."]) } })
    expect(result).toMatchObject({ status: "done", step: "answer" })
    if (result.status !== "done") return
    expect(result.steps.search?.passages.map((passage) => passage.id)).toEqual(["passwords"])
    expect(result.steps.search?.dropped).toEqual([expect.objectContaining({ reason: "min-score" }), expect.objectContaining({ reason: "min-score" })])
    // a query sharing no word: every cosine is 0, under minScore, so the empty edge
    const unrelated = await rag({ retriever, minScore: 0.2 }).run({ question: "weather forecast" }, { models: { fast: scriptedModel([]) } })
    expect(unrelated).toMatchObject({ status: "done", step: "dontKnow" })
  })

  it("drops a passage the model grades irrelevant, and goes empty when it grades none relevant", async () => {
    // "refund parcel" matches refunds and shipping; the grader keeps only passage 1
    const fast = scriptedModel([{ object: { relevant: [1] } }, "Refunds arrive in five days.", { object: { relevant: [] } }])
    const graded = rag({ relevance: true })
    const kept = await graded.run({ question: "refund parcel" }, { models: { fast } })
    expect(kept).toMatchObject({ status: "done", step: "answer" })
    if (kept.status !== "done") return
    expect(kept.steps.search?.passages).toHaveLength(1)
    expect(kept.steps.search?.dropped).toEqual([expect.objectContaining({ reason: "not-relevant" })])
    const gradingPrompt = String(fast.calls[0]?.request.messages.at(-1)?.content)
    expect(gradingPrompt).toContain("Question: refund parcel")
    expect(gradingPrompt).toContain("[1] ")
    expect(gradingPrompt).toContain("[2] ")
    expect(fast.calls[0]?.request.output?.jsonSchema).toMatchObject({ properties: { relevant: { type: "array" } } })
    // the grading call counts in the step's usage like any model call
    expect(kept.usage.calls).toBe(2)
    const none = await graded.run({ question: "refund parcel" }, { models: { fast } })
    expect(none).toMatchObject({ status: "done", step: "dontKnow" })
  })

  it("retries a retriever's retryable error under the kind's default policy; an untyped error fails the step with its message", async () => {
    let calls = 0
    const flaky: Retriever = {
      retrieve: async () => {
        calls += 1
        if (calls === 1)
          throw new ModelError({ provider: "openai", model: "text-embedding-3-small", reason: "rate-limited", retryable: true, message: "slow down" })
        if (calls === 3) throw new Error("search index is corrupt")
        return [{ id: "refunds", text: "Refunds take five days.", score: 1 }]
      },
    }
    // No retry.attempts of the user's: the default (3) retries only errors typed as retryable.
    const p = pipeline({ id: "flaky", input: Question })
      .step("search", retrieve({ retriever: flaky, query: ({ input }) => input.question }))
      .step(
        "answer",
        fn(({ steps }) => steps.search?.passages.length),
      )
      .edges({ search: "answer", answer: "done" })
    const events: RunEvent[] = []
    expect(await p.run({ question: "refund" }, { onEvent: (event) => events.push(event) })).toMatchObject({ status: "done", output: 1 })
    expect(events.filter((event) => event.type === "step.retried")).toEqual([
      expect.objectContaining({ step: "search", error: expect.objectContaining({ reason: "rate-limited" }) }),
    ])
    expect(await p.run({ question: "refund" })).toMatchObject({
      status: "failed",
      error: { _tag: "StepCodeError", step: "search", message: "search index is corrupt" },
    })
    expect(calls).toBe(3)
  })

  it("retries any untyped error of a retriever under an explicit retry.attempts", async () => {
    let calls = 0
    const flaky: Retriever = {
      retrieve: async () => {
        calls += 1
        if (calls === 1) throw new Error("connection reset")
        return [{ id: "refunds", text: "Refunds take five days.", score: 1 }]
      },
    }
    const p = pipeline({ id: "flaky", input: Question })
      .step(
        "search",
        retrieve({ retriever: flaky, query: ({ input }) => input.question, policy: { retry: { attempts: 3, initialDelay: "1ms", jitter: false } } }),
      )
      .edges({ search: "done" })
    expect(await p.run({ question: "refund" })).toMatchObject({ status: "done", output: { passages: [{ id: "refunds" }] } })
    expect(calls).toBe(2)
  })

  it("names a retriever that returns something other than passages", async () => {
    const broken = { retrieve: async () => [{ id: "a", text: "x" }] } as unknown as Retriever
    const p = pipeline({ id: "broken", input: Question })
      .step("search", retrieve({ retriever: broken, query: ({ input }) => input.question }))
      .edges({ search: "done" })
    expect(await p.run({ question: "q" })).toMatchObject({
      status: "failed",
      error: {
        _tag: "StepCodeError",
        step: "search",
        message: 'retrieve step "search": the retriever returned passages[0] without a string id, a string text and a numeric score',
      },
    })
  })

  it("does not retrieve again when a run resumes after the step finished", async () => {
    let searches = 0
    const counting: Retriever = {
      retrieve: async (query, options) => {
        searches += 1
        return lexicalRetriever({ documents: handbook }).retrieve(query, options)
      },
    }
    const journal = memoryJournal()
    const hangs = scriptedModel([{ hang: true }])
    const controller = new AbortController()
    const first = rag({ retriever: counting }).run({ question: "refund" }, { models: { fast: hangs }, journal, runId: "crash", signal: controller.signal })
    while (hangs.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 1))
    // Simulate a crash mid-answer: keep the journal up to the search step's result.
    const entries = await journal.read("crash")
    const crashed = memoryJournal()
    for (const entry of entries.slice(0, entries.findIndex((entry) => entry.type === "step.finished") + 1)) await crashed.append(entry)
    controller.abort()
    await first
    const resumed = await rag({ retriever: counting }).resume("crash", { journal: crashed, models: { fast: scriptedModel(["Five days."]) } })
    expect(resumed).toMatchObject({ status: "done", output: "Five days." })
    expect(searches).toBe(1)
  })

  it("shows the empty edge in the chart and in the path tests", async () => {
    const p = rag()
    const chart = chartOf(p, p.structure)
    expect(chart.edges.filter((edge) => edge.from === "search").map((edge) => [edge.to, edge.label])).toEqual([
      ["answer", "route → answer"],
      ["dontKnow", "empty → dontKnow"],
      ["failed", "error"],
    ])
    const found = await paths(p, { failures: false })
    expect(found.map((path) => path.name)).toEqual(expect.arrayContaining(["search → answer → done", "search → dontKnow → done"]))
  })

  it("rejects an empty edge on a step that is not a retrieve step, and bad options", () => {
    const build = () =>
      pipeline({ id: "bad", input: Question })
        .step(
          "guess",
          fn(() => ({ passages: [] as string[] })),
        )
        .step(
          "other",
          fn(() => 1),
        )
        .edges({ guess: { next: "done", empty: "other" }, other: "done" })
    expect(build).toThrow(PipelineDefinitionError)
    expect(build).toThrow("edges.guess.empty is only for retrieve steps")
    const retriever = lexicalRetriever({ documents: handbook })
    const added = (step: unknown) => () => pipeline({ id: "bad", input: Question }).step("search", step as never)
    expect(added(retrieve({ retriever, query: () => "x", k: 0 }))).toThrow('step "search": retrieve({ ... }).k must be an integer >= 1, got 0')
    expect(added(retrieve({ retriever: {} as Retriever, query: () => "x" }))).toThrow("retrieve({ ... }).retriever must be a Retriever")
  })
})
