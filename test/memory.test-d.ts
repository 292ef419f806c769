import { describe, expectTypeOf, it } from "vitest"
import { z } from "zod"
import { fn, llm, type Message, pipeline, rememberFacts } from "../src/index.ts"

describe("thread memory types", () => {
  it("types ctx.thread and the output of rememberFacts", () => {
    pipeline({ id: "memory-types", input: z.object({ message: z.string() }) })
      .step(
        "greet",
        fn(({ thread }) => {
          expectTypeOf(thread.id).toEqualTypeOf<string | null>()
          expectTypeOf(thread.messages).toEqualTypeOf<readonly Message[]>()
          expectTypeOf(thread.facts).toEqualTypeOf<Readonly<Record<string, unknown>>>()
          return "hi"
        }),
      )
      .step(
        "remember",
        rememberFacts(({ input }) => ({ lastMessage: input.message })),
      )
      .step(
        "after",
        fn(({ steps }) => {
          expectTypeOf(steps.remember).toEqualTypeOf<{ lastMessage: string } | undefined>()
          return 1
        }),
      )
      .edges({ greet: "remember", remember: "after", after: "done" })
  })

  it("accepts thread: true or { lastMessages } on llm steps, nothing else", () => {
    llm({ model: "fast", thread: true, prompt: () => "x" })
    llm({ model: "fast", thread: { lastMessages: 6 }, prompt: () => "x" })
    // @ts-expect-error a thread option is a boolean or { lastMessages }
    llm({ model: "fast", thread: "all", prompt: () => "x" })
    // @ts-expect-error facts are an object
    rememberFacts(() => "Ada")
  })
})
