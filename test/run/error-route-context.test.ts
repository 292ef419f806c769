import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, type JournalEntry, llm, maxVisits, memoryJournal, parallel, pipeline, type RunError, route } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

class DeclinedError extends Error {
  override readonly name = "DeclinedError"
  readonly code = "card_declined"
}

describe("the step an error edge leads to reads the error (ctx.error)", () => {
  it("gets the failed step, its _tag, message and the thrown error's cause and fields", async () => {
    const seen: Array<(RunError & { step: string }) | undefined> = []
    const p = pipeline({ id: "pay", input: z.object({}) })
      .step(
        "charge",
        fn(() => {
          throw new DeclinedError("card declined", { cause: new Error("issuer said no") })
        }),
      )
      .step(
        "recover",
        fn(({ error }) => {
          seen.push(error)
          return `recovered from ${error?.step}: ${error?.message}`
        }),
      )
      .edges({ charge: { next: "done", error: "recover" }, recover: "done" })
    expect(await p.run({})).toMatchObject({ status: "done", output: "recovered from charge: card declined" })
    expect(seen).toEqual([
      expect.objectContaining({
        _tag: "StepCodeError",
        step: "charge",
        message: "card declined",
        name: "DeclinedError",
        fields: { code: "card_declined" },
        cause: expect.objectContaining({ message: "issuer said no" }),
      }),
    ])
  })

  it("gets a model error's reason, in an llm step's prompt too", async () => {
    const model = scriptedModel([{ object: { kind: "banana" } }, { object: { kind: "banana" } }, "Sorry, we could not classify your ticket."])
    const p = pipeline({ id: "triage", input: z.object({}) })
      .step("classify", llm({ model: "fast", prompt: () => "Classify", output: z.object({ kind: z.enum(["refund", "bug"]) }) }))
      .step("apologise", llm({ model: "fast", prompt: ({ error }) => `Apologise: ${error?._tag} (${error?._tag === "ModelError" ? error.reason : ""})` }))
      .edges({ classify: { next: "done", error: "apologise" }, apologise: "done" })
    expect(await p.run({}, { models: { fast: model } })).toMatchObject({ status: "done" })
    expect(model.calls.at(-1)?.request.messages.at(-1)?.content).toBe("Apologise: ModelError (invalid-output)")
  })

  it("is undefined in a visit of the same step that a normal route reached, and in other steps", async () => {
    const seen: Array<[string, number, string | undefined]> = []
    let tries = 0
    const p = pipeline({ id: "loop", input: z.object({}) })
      .step(
        "work",
        fn(({ visit }) => {
          tries += 1
          if (tries === 1) throw new Error("first try broke")
          return visit
        }),
      )
      .step(
        "review",
        fn(({ visit, error }) => {
          seen.push(["review", visit, error?.message])
          return visit
        }),
      )
      .edges({
        work: { next: "review", error: "review" },
        review: { next: route(["work", "done"], ({ visit }) => (visit < 3 ? "work" : "done")), stop: maxVisits(5) },
      })
    expect(await p.run({})).toMatchObject({ status: "done" })
    expect(seen).toEqual([
      ["review", 1, "first try broke"],
      ["review", 2, undefined],
      ["review", 3, undefined],
    ])
  })

  it("gets a failed parallel branch's error", async () => {
    let error: RunError | undefined
    const p = pipeline({ id: "fan", input: z.object({}) })
      .step(
        "both",
        parallel({
          branches: {
            ok: fn(() => 1),
            broken: fn(() => {
              throw new Error("branch broke")
            }),
          },
        }),
      )
      .step(
        "recover",
        fn((context) => {
          error = context.error
          return "ok"
        }),
      )
      .edges({ both: { next: "done", error: "recover" }, recover: "done" })
    expect(await p.run({})).toMatchObject({ status: "done" })
    expect(error).toMatchObject({ step: "both.broken", message: "branch broke" })
  })

  it("is the same error when a resumed run reaches the recovery step again", async () => {
    const seen: Array<string | undefined> = []
    const build = () =>
      pipeline({ id: "pay", input: z.object({}) })
        .step(
          "charge",
          fn(() => {
            throw new Error("card declined")
          }),
        )
        .step(
          "recover",
          fn(({ error }) => {
            seen.push(error?.message)
            return "ok"
          }),
        )
        .edges({ charge: { next: "done", error: "recover" }, recover: "done" })
    const journal = memoryJournal()
    await build().run({}, { journal, runId: "r" })
    // The process died as the recovery step began.
    const entries = await journal.read("r")
    const crashed = memoryJournal()
    const cut = entries.findIndex((entry: JournalEntry) => entry.type === "step.started" && entry.step === "recover") + 1
    for (const entry of entries.slice(0, cut)) await crashed.append(entry)
    expect(await build().resume("r", { journal: crashed })).toMatchObject({ status: "done" })
    expect(seen).toEqual(["card declined", "card declined"])
  })
})
