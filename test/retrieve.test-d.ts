import { describe, expectTypeOf, it } from "vitest"
import { z } from "zod"
import { fn, lexicalRetriever, type Passage, pipeline, type RetrievalResult, retrieve, route } from "../src/index.ts"

const retriever = lexicalRetriever({ documents: [{ id: "a", text: "Refunds take five days." }] })
const base = () =>
  pipeline({ id: "rag-types", input: z.object({ question: z.string() }) })
    .step(
      "search",
      retrieve({
        retriever,
        query: ({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ question: string }>()
          return input.question
        },
      }),
    )
    .step(
      "answer",
      fn(({ steps }) => {
        expectTypeOf(steps.search).toEqualTypeOf<RetrievalResult | undefined>()
        expectTypeOf(steps.search?.passages).toEqualTypeOf<readonly Passage[] | undefined>()
        return steps.search?.passages[0]?.text ?? ""
      }),
    )
    .step(
      "dontKnow",
      fn(() => "no idea"),
    )

describe("retrieve step types", () => {
  it("types the output as { query, passages, dropped } for later steps and routes", () => {
    base().edges({
      search: {
        next: route(["answer", "dontKnow"], ({ output }) => {
          expectTypeOf(output.query).toEqualTypeOf<string>()
          expectTypeOf(output.passages[0]?.score).toEqualTypeOf<number | undefined>()
          return output.passages.length > 1 ? "answer" : "dontKnow"
        }),
        empty: "dontKnow",
      },
      answer: "done",
      dontKnow: "done",
    })
  })

  it("allows empty only on a retrieve step, and only to a step of the pipeline", () => {
    base().edges({
      // @ts-expect-error "nowhere" is not a step
      search: { next: "answer", empty: "nowhere" },
      answer: "done",
      dontKnow: "done",
    })
    base().edges({
      search: { next: "answer", empty: "dontKnow" },
      // @ts-expect-error an fn step's output has no passages: no empty edge
      answer: { next: "done", empty: "dontKnow" },
      dontKnow: "done",
    })
  })

  it("checks the query function returns a string", () => {
    // @ts-expect-error the query must be a string
    retrieve({ retriever, query: () => 42 })
  })
})
