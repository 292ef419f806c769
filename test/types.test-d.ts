import { describe, expectTypeOf, it } from "vitest"
import { z } from "zod"
import { callTool, fn, human, llm, maxVisits, pipeline, type RunResult, route, tool } from "../src/index.ts"

const Kind = z.object({ kind: z.enum(["refund", "bug"]), confidence: z.number() })
const Review = z.object({ approve: z.boolean(), note: z.string().optional() })
const lookupOrder = tool({ name: "lookupOrder", input: z.object({ orderId: z.string() }), run: async ({ orderId }) => ({ orderId, paid: 12 }) })

const base = () =>
  pipeline({ id: "types", input: z.object({ ticket: z.string(), orderId: z.string() }) })
    .step("classify", llm({ model: "fast", prompt: ({ input }) => input.ticket, output: Kind }))
    .step(
      "order",
      callTool(lookupOrder, ({ input }) => ({ orderId: input.orderId })),
    )
    .step("review", human({ decision: Review }))
    .step("answer", llm({ model: "fast", prompt: ({ steps }) => `${steps.classify?.kind} ${steps.order?.paid}` }))

describe("pipeline types", () => {
  it("types earlier steps' outputs in later steps", () => {
    pipeline({ id: "t", input: z.object({ n: z.number() }) })
      .step(
        "a",
        fn(({ input }) => {
          expectTypeOf(input).toEqualTypeOf<{ n: number }>()
          return { doubled: input.n * 2 }
        }),
      )
      .step(
        "b",
        fn(({ steps }) => {
          expectTypeOf(steps.a).toEqualTypeOf<{ doubled: number } | undefined>()
          // a step declared later reads as unknown, never as a wrong type
          expectTypeOf(steps["c"]).toBeUnknown()
          return "b"
        }),
      )
  })

  it("types a route function's argument by the step's output", () => {
    base().edges({
      classify: route(["review", "answer"], ({ output }) => {
        expectTypeOf(output).toEqualTypeOf<{ kind: "refund" | "bug"; confidence: number }>()
        return output.confidence < 0.5 ? "review" : "answer"
      }),
      order: "review",
      review: route(["done", "answer"], ({ output }) => {
        expectTypeOf(output).toEqualTypeOf<{ approve: boolean; note?: string | undefined }>()
        return output.approve ? "done" : "answer"
      }),
      answer: "done",
    })
  })

  it("does not compile an edge to a step that does not exist", () => {
    base().edges({
      classify: "order",
      // @ts-expect-error "reveiw" is not a step of this pipeline
      order: "reveiw",
      review: "done",
      answer: "done",
    })
    base().edges({
      // @ts-expect-error a route may only list existing steps or "done"
      classify: route(["order", "nowhere"], () => "order"),
      order: "review",
      review: "answer",
      answer: "done",
    })
    base().edges({
      // @ts-expect-error a route must return one of its declared targets
      classify: route(["order"], () => "answer"),
      order: "review",
      review: "answer",
      answer: "done",
    })
  })

  it("does not compile without an edge for every step", () => {
    // @ts-expect-error edges.answer is missing
    base().edges({ classify: "order", order: "review", review: "answer" })
  })

  it("does not compile a duplicate step name", () => {
    pipeline({ id: "dup", input: z.object({}) })
      .step(
        "a",
        fn(() => 1),
      )
      .step(
        // @ts-expect-error "a" is already a step
        "a",
        fn(() => 2),
      )
  })

  it("types human decisions on send and decide", () => {
    const p = base().edges({ classify: "order", order: "review", review: "answer", answer: { next: "done", stop: maxVisits(1) } })
    const handle = p.start({ ticket: "t", orderId: "o" })
    handle.send("review", { approve: true })
    // @ts-expect-error the decision must match the step's schema
    handle.send("review", { approve: "yes" })
    // @ts-expect-error no such step
    handle.send("reveiw", { approve: true })
  })

  it("types the run result by the step that finished", () => {
    const p = base().edges({ classify: "order", order: "review", review: "answer", answer: "done" })
    expectTypeOf(p.run).parameter(0).toEqualTypeOf<{ ticket: string; orderId: string }>()
    type Result = Awaited<ReturnType<typeof p.run>>
    expectTypeOf<Result>().toExtend<RunResult<{ classify: unknown; order: unknown; review: unknown; answer: unknown }>>()
    const check = (result: Result) => {
      if (result.status === "done" && result.step === "answer") expectTypeOf(result.output).toEqualTypeOf<string>()
      if (result.status === "done" && result.step === "order") expectTypeOf(result.output).toEqualTypeOf<{ orderId: string; paid: number }>()
      if (result.status === "failed") expectTypeOf(result.error._tag).toExtend<string>()
    }
    void check
  })

  it("checks tool arguments against the tool's schema", () => {
    // @ts-expect-error orderId must be a string
    callTool(lookupOrder, () => ({ orderId: 1 }))
  })
})
