import { describe, expectTypeOf, it } from "vitest"
import { z } from "zod"
import { atLeast, fn, human, type ItemResult, llm, map, type PipelineOutput, parallel, pipeline, subpipeline } from "../src/index.ts"

const child = pipeline({ id: "child", input: z.object({ text: z.string() }) })
  .step(
    "length",
    fn(({ input }) => input.text.length),
  )
  .edges({ length: "done" })

const base = () => pipeline({ id: "fanout-types", input: z.object({ docs: z.array(z.string()), n: z.number() }) })

describe("fan-out types", () => {
  it("types a join's argument by the branches and the step's output by the join", () => {
    base()
      .step(
        "extract",
        parallel({
          branches: {
            double: fn(({ input }) => input.n * 2),
            title: llm({ model: "fast", prompt: ({ input }) => `Title of ${input.docs[0]}` }),
            size: subpipeline(child, { input: ({ input }) => ({ text: input.docs.join(" ") }) }),
          },
          join: (outputs) => {
            expectTypeOf(outputs).toEqualTypeOf<{ readonly double: number; readonly title: string; readonly size: number }>()
            return { score: outputs.double + outputs.size, title: outputs.title }
          },
        }),
      )
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.extract).toEqualTypeOf<{ score: number; title: string } | undefined>()
          return null
        }),
      )
  })

  it("outputs the typed record of branch outputs without a join", () => {
    base()
      .step("both", parallel({ branches: { a: fn(() => 1), b: fn(() => "b") } }))
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.both).toEqualTypeOf<{ readonly a: number; readonly b: string } | undefined>()
          return null
        }),
      )
  })

  it("does not compile a join that reads a branch that does not exist", () => {
    parallel({
      branches: { a: fn(() => 1) },
      // @ts-expect-error there is no branch "missing"
      join: ({ missing }) => missing,
    })
  })

  it("types a human branch or item by its decision, and a collected parallel step by ItemResult", () => {
    const asked = parallel({ branches: { ask: human({ decision: z.boolean() }), count: fn(() => 1) } })
    expectTypeOf(asked).toEqualTypeOf<ReturnType<typeof parallel<{ ask: boolean; count: number }>>>()
    map({ over: () => [1], each: human({ decision: z.boolean(), prompt: ({ input }: { input: number }) => `${input}?` }) })
    parallel({
      onBranchError: "collect",
      branches: { ask: human({ decision: z.boolean() }) },
      join: ({ ask }) => {
        expectTypeOf(ask).toEqualTypeOf<ItemResult<boolean>>()
        return ask.ok
      },
    })
  })

  it("types a map's output by its item step and its failure policy", () => {
    base()
      .step("lengths", map({ over: ({ input }) => input.docs, each: fn(({ input }: { input: string }) => input.length), concurrency: 2 }))
      .step("collected", map({ over: ({ input }) => input.docs, each: fn(({ input }: { input: string }) => input.length), onItemError: "collect" }))
      .step("some", map({ over: ({ input }) => input.docs.map((text) => ({ text })), each: child, onItemError: atLeast(1) }))
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.lengths).toEqualTypeOf<ReadonlyArray<number> | undefined>()
          expectTypeOf(steps.collected).toEqualTypeOf<ReadonlyArray<ItemResult<number>> | undefined>()
          expectTypeOf(steps.some).toEqualTypeOf<ReadonlyArray<ItemResult<number>> | undefined>()
          return null
        }),
      )
  })

  it("does not compile an item step whose input is not the list's item type", () => {
    base()
      // @ts-expect-error the items are strings, the step expects numbers
      .step("wrong", map({ over: ({ input }) => input.docs, each: fn(({ input }: { input: number }) => input + 1) }))
    base()
      // @ts-expect-error the child pipeline expects { text }, the items are strings
      .step("wrongChild", map({ over: ({ input }) => input.docs, each: child }))
  })

  it("types a nested pipeline's output as the output of the child's steps", () => {
    const twoSteps = pipeline({ id: "two", input: z.object({ text: z.string() }) })
      .step(
        "length",
        fn(({ input }) => input.text.length),
      )
      .step(
        "shout",
        fn(({ input }) => input.text.toUpperCase()),
      )
      .edges({ length: "shout", shout: "done" })
    expectTypeOf<PipelineOutput<typeof child>>().toEqualTypeOf<number>()
    base()
      .step("nested", subpipeline(child, { input: ({ input }) => ({ text: input.docs.join(" ") }) }))
      .step("either", subpipeline(twoSteps, { input: () => ({ text: "x" }) }))
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.nested).toEqualTypeOf<number | undefined>()
          // Any step of the child may be the one that routes to done.
          expectTypeOf(steps.either).toEqualTypeOf<number | string | undefined>()
          return null
        }),
      )
  })

  it("types a nested pipeline's input mapping by the child's input schema", () => {
    base()
      // @ts-expect-error the child expects { text: string }
      .step("bad", subpipeline(child, { input: ({ input }) => ({ text: input.n }) }))
  })
})
