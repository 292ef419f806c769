import { describe, expect, it } from "vitest"
import { createActor, fromPromise, toPromise, waitFor } from "xstate"
import { z } from "zod"
import { fn, human, llm, type Model, maxVisits, pipeline, route } from "../../src/index.ts"

const echo: Model = { provider: "echo", model: "echo-1", generate: async (request) => ({ text: `echo: ${request.messages.at(-1)?.content}` }) }

const flow = pipeline({ id: "flow", input: z.object({ text: z.string() }) })
  .step(
    "shout",
    fn(({ input }) => input.text.toUpperCase()),
  )
  .step("reply", llm({ model: echo, prompt: ({ steps }) => steps.shout ?? "" }))
  .step("review", human({ decision: z.object({ ok: z.boolean() }), timeout: "1h" }))
  .step(
    "retry",
    fn(() => "again"),
  )
  .edges({
    shout: "reply",
    reply: "review",
    review: { next: route(["done", "retry"], ({ output }) => (output.ok ? "done" : "retry")), timeout: "done" },
    retry: { next: "shout", stop: maxVisits(2) },
  })

describe("the compiled machine", () => {
  it("is a real XState machine: one state per step plus done, failed and stopped", () => {
    expect(Object.keys(flow.machine.root.states)).toEqual(["shout", "reply", "review", "retry", "done", "failed", "stopped"])
    expect(flow.machine.root.states["review"]?.on).toHaveProperty("review.decide")
    expect(flow.machine.root.states["reply"]?.invoke[0]).toMatchObject({ id: "reply", src: "reply" })
  })

  it("has a JSON config that refers to behaviour only by name", () => {
    const json = JSON.parse(JSON.stringify(flow.machine.config))
    const functions: string[] = []
    const walk = (value: unknown, path: string) => {
      if (typeof value === "function") functions.push(path)
      else if (value !== null && typeof value === "object") for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`)
    }
    walk({ ...flow.machine.config, context: undefined, output: undefined }, "config")
    expect(functions).toEqual([])
    expect(json.states.review.on["review.decide"][0]).toMatchObject({ target: "done", guard: { type: "goes", params: { from: "review", to: "done" } } })
    expect(json.states.retry.invoke.src).toBe("retry")
  })

  it("runs with plain XState: createActor, send a decision, read the output", async () => {
    const actor = createActor(flow.machine, { input: { input: { text: "hi" } } }).start()
    await waitFor(actor, (snapshot) => snapshot.matches("review"))
    expect(actor.getSnapshot().context.steps).toEqual({ shout: "HI", reply: "echo: HI" })
    actor.send({ type: "review.decide", decision: { ok: true } })
    expect(await toPromise(actor)).toMatchObject({ status: "done", steps: { review: { ok: true } } })
  })

  it("ignores an invalid decision sent with plain XState", async () => {
    const actor = createActor(flow.machine, { input: { input: { text: "hi" } } }).start()
    await waitFor(actor, (snapshot) => snapshot.matches("review"))
    actor.send({ type: "review.decide", decision: { ok: "maybe" } })
    expect(actor.getSnapshot().value).toBe("review")
    actor.stop()
  })

  it("lets .provide() swap a step's implementation by name", async () => {
    const machine = flow.machine.provide({
      actors: { reply: fromPromise(async () => ({ output: "canned", next: "review" })) },
    })
    const actor = createActor(machine, { input: { input: { text: "x" } } }).start()
    await waitFor(actor, (snapshot) => snapshot.matches("review"))
    expect(actor.getSnapshot().context.steps["reply"]).toBe("canned")
    actor.send({ type: "review.decide", decision: { ok: false } })
    // retry → shout → reply → review again (the loop's second lap)
    for (const lap of [2, 3]) {
      await waitFor(actor, (snapshot) => snapshot.matches("review") && snapshot.context.visits["review"] === lap)
      actor.send({ type: "review.decide", decision: { ok: false } })
    }
    // the third entry into retry is refused by maxVisits(2): the run stops
    expect(await toPromise(actor)).toMatchObject({ status: "stopped", stoppedBy: { step: "retry", rule: "maxVisits(2)" } })
  })

  it("persists a waiting run as JSON and restores it in a new actor", async () => {
    const actor = createActor(flow.machine, { input: { input: { text: "persist" } } }).start()
    await waitFor(actor, (snapshot) => snapshot.matches("review"))
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()))
    actor.stop()
    const restored = createActor(flow.machine, { snapshot: persisted, input: { input: { text: "persist" } } }).start()
    restored.send({ type: "review.decide", decision: { ok: true } })
    expect(await toPromise(restored)).toMatchObject({ status: "done", steps: { shout: "PERSIST" } })
  })
})

describe("human decisions", () => {
  it("routes a decision once per transition, and again when the same event object is sent later", async () => {
    const seen: number[] = []
    const loop = pipeline({ id: "ask-again", input: z.object({}) })
      .step("ask", human({ decision: z.object({ more: z.boolean() }) }))
      .step(
        "count",
        fn(({ visit }) => visit),
      )
      .edges({
        ask: route(["count", "done"], ({ output, visit }) => {
          seen.push(visit)
          return output.more && visit < 2 ? "count" : "done"
        }),
        count: { next: "ask", stop: maxVisits(3) },
      })
    const actor = createActor(loop.machine, { input: { input: {} } }).start()
    const again = { type: "ask.decide", decision: { more: true } } as const
    actor.send(again)
    await waitFor(actor, (snapshot) => snapshot.matches("ask") && snapshot.context.visits["ask"] === 2)
    actor.send(again)
    expect(await toPromise(actor)).toMatchObject({ status: "done" })
    // one route call per decision, although the route has two candidate targets
    expect(seen).toEqual([1, 2])
  })
})
