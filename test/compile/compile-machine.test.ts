// The compiler alone, with no run layer: it emits a machine whose behaviour is named, not built,
// so its transitions can be walked purely and a run layer (or a test) provides the actors.
import { describe, expect, it } from "vitest"
import { createActor, fromPromise, getNextSnapshot, toPromise } from "xstate"
import { z } from "zod"
import { compileMachine, journalingActions } from "../../src/compile/compile-machine.ts"
import type { PipelineGraph } from "../../src/definition/graph.ts"
import { validateGraph } from "../../src/definition/validate.ts"
import { type AnyStep, fn, human, maxVisits, route } from "../../src/index.ts"

const steps = new Map<string, AnyStep>([
  ["draft", fn(() => "a draft") as AnyStep],
  ["review", human({ decision: z.object({ ok: z.boolean() }) }) as AnyStep],
])
const { edges, problems } = validateGraph(steps, {
  draft: { next: "review", stop: maxVisits(3) },
  review: route(["done", "draft"], ({ output }: { output: { ok: boolean } }) => (output.ok ? "done" : "draft")),
})
const graph: PipelineGraph = { id: "essay", steps, edges, policy: undefined }

describe("compileMachine without the run layer", () => {
  it("walks its transitions purely: a decision routes by its typed output", () => {
    expect(problems).toEqual([])
    const machine = compileMachine(graph)
    const atReview = machine.resolveState({
      value: "review",
      context: {
        ...machine.config.context,
        runId: "r",
        input: {},
        steps: { draft: "a draft" },
        visits: { draft: 1, review: 1 },
        errors: {},
        last: "draft",
        status: "awaiting-human",
        error: null,
        stoppedBy: null,
        waiting: { step: "review", deadline: null },
        deadlines: {},
      } as never,
    })
    expect(getNextSnapshot(machine, atReview, { type: "review.decide", decision: { ok: true } }).value).toBe("done")
    expect(getNextSnapshot(machine, atReview, { type: "review.decide", decision: { ok: false } }).value).toBe("draft")
    // An invalid decision is ignored: the run keeps waiting.
    expect(getNextSnapshot(machine, atReview, { type: "review.decide", decision: { ok: "yes" } }).value).toBe("review")
  })

  it("names the actors it does not build: run unprovided, a step fails saying it has no runtime", async () => {
    const actor = createActor(compileMachine(graph), { input: { input: {} } })
    actor.start()
    const output = await toPromise(actor)
    expect(output).toMatchObject({ status: "failed", error: { _tag: "ConfigurationError", step: "draft", message: expect.stringContaining("has no runtime") } })
  })

  it("runs on whatever implementations are provided, journaling actions included", async () => {
    const journaled: string[] = []
    const machine = compileMachine(graph).provide({
      actors: { draft: fromPromise(async () => ({ output: "provided draft", next: "review" })) },
      actions: Object.fromEntries(journalingActions.map((name) => [name, () => void journaled.push(name)])),
    })
    const actor = createActor(machine, { input: { input: {} } })
    actor.start()
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(actor.getSnapshot().value).toBe("review")
    expect(actor.getSnapshot().context.steps).toEqual({ draft: "provided draft" })
    actor.send({ type: "review.decide", decision: { ok: true } })
    expect(await toPromise(actor)).toMatchObject({ status: "done", steps: { draft: "provided draft", review: { ok: true } } })
  })
})
