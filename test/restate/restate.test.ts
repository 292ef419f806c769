import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { scripts, writer } from "../../examples/03-loop-with-stop-rule.ts"
import { type RestateServer, RestateServerError, restateClient, restateEndpoint, startRestateServer } from "../../src/engines/restate/index.ts"
import { DecisionError, type JournalEntry, memoryJournal, type Pipeline, type RunEvent } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"
import { agentLoop, agentModel, approval, chain, fanned, routed } from "./pipelines.ts"
import { shapeOf, skipReason } from "./support.ts"

const run = promisify(execFile)
const reason = skipReason()
const slowApproval = approval("24h")
const quickApproval = pipelineWithId(approval("2s"), "durable-approval-quick")

// A second approval pipeline with its own workflow name: one endpoint serves both timeouts.
function pipelineWithId<TInput, TSteps>(source: Pipeline<TInput, TSteps>, id: string): Pipeline<TInput, TSteps> {
  return { ...source, id }
}

describe.skipIf(reason !== undefined)(`pipelines on a real Restate server${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  let server: RestateServer
  let close: () => Promise<void> = async () => {}
  const store = memoryJournal()
  const observed: RunEvent[] = []
  const client = () => restateClient({ ingress: server.ingressUrl })

  beforeAll(async () => {
    server = await startRestateServer()
    // The loop's model answers in order: the one run of `writer` in this file consumes the script.
    const models = { fast: scriptedModel(scripts.neverSatisfied), smart: agentModel() }
    // Waiting runs suspend after a second: the decision then resumes them by a replay from scratch.
    const endpoint = restateEndpoint({
      pipelines: [chain, routed, slowApproval, quickApproval, writer, agentLoop, fanned],
      models,
      store,
      logger: () => {},
      runOptions: { observers: [(event) => observed.push(event)] },
      workflowOptions: { inactivityTimeout: 1000 },
    })
    const listening = await endpoint.listen(0)
    close = listening.close
    await server.register(listening.url)
  }, 90_000)

  afterAll(async () => {
    await close()
    await server?.stop()
  })

  it("runs a chain with the same result and journal as the local runtime", async () => {
    const local = memoryJournal()
    const expected = await chain.run({ text: "  hello restate " }, { journal: local, runId: "local-chain" })
    const result = await client().run(chain, { text: "  hello restate " })
    expect(result).toMatchObject({ status: "done", step: "count", output: { text: "HELLO RESTATE", length: 13 } })
    expect({ ...result, runId: "", durationMs: 0 }).toEqual({ ...expected, runId: "", durationMs: 0 })
    expect(shapeOf(await store.read(result.runId))).toEqual(shapeOf(await local.read("local-chain")))
  }, 30_000)

  it("takes the route a step's output chooses, as locally", async () => {
    for (const ticket of ["refund please", "where is my parcel"]) {
      const local = memoryJournal()
      const expected = await routed.run({ ticket }, { journal: local, runId: `local-${ticket}` })
      const result = await client().run(routed, { ticket })
      expect(result).toMatchObject({ status: "done", step: expected.status === "done" ? expected.step : "?" })
      expect(shapeOf(await store.read(result.runId))).toEqual(shapeOf(await local.read(`local-${ticket}`)))
    }
  }, 30_000)

  it("runs an agent loop (model turn, tool batch, model turn) as locally, each turn journaled once", async () => {
    const local = memoryJournal()
    const expected = await agentLoop.run({ id: "abcd" }, { journal: local, runId: "local-agent", models: { smart: agentModel() } })
    const result = await client().run(agentLoop, { id: "abcd" })
    expect(result).toMatchObject({ status: "done", step: "report", output: "in stock: 4" })
    expect({ ...result, runId: "", durationMs: 0 }).toEqual({ ...expected, runId: "", durationMs: 0 })
    const projected = await store.read(result.runId)
    expect(shapeOf(projected)).toEqual(shapeOf(await local.read("local-agent")))
    expect(projected.filter((entry) => entry.type === "agent.turned")).toHaveLength(2)
    expect(projected.filter((entry) => entry.type === "tool.called")).toHaveLength(1)
  }, 30_000)

  it("runs a parallel step's branches and join as locally", async () => {
    const local = memoryJournal()
    const expected = await fanned.run({ text: "tea" }, { journal: local, runId: "local-parallel" })
    const result = await client().run(fanned, { text: "tea" })
    expect(result).toMatchObject({ status: "done", output: { upper: "TEA", length: 3 } })
    expect({ ...result, runId: "", durationMs: 0 }).toEqual({ ...expected, runId: "", durationMs: 0 })
    // Concurrent branches interleave their events differently here and there; each branch's own are the same, in order.
    const byStep = (entries: readonly JournalEntry[]) => {
      const events = shapeOf(entries).map(({ seq: _seq, ...event }) => event)
      return Object.groupBy(events, (event) => String((event as { step?: unknown }).step ?? "(run)"))
    }
    const projected = await store.read(result.runId)
    expect(byStep(projected)).toEqual(byStep(await local.read("local-parallel")))
    expect(projected.map((entry) => entry.seq)).toEqual(projected.map((_, index) => index))
  }, 30_000)

  it("runs a loop with a stop rule (an LLM step visited three times) as locally", async () => {
    const local = memoryJournal()
    const expected = await writer.run({ topic: "tea" }, { journal: local, runId: "local-loop", models: { fast: scriptedModel(scripts.neverSatisfied) } })
    const result = await client().run(writer, { topic: "tea" })
    expect(result).toMatchObject({
      status: "done",
      step: "publish",
      stoppedBy: { step: "draft", rule: expect.any(String) },
      output: { tagline: "Tea: a warm pause.", score: 6 },
    })
    expect({ ...result, runId: "", durationMs: 0 }).toEqual({ ...expected, runId: "", durationMs: 0 })
    const projected = await store.read(result.runId)
    expect(shapeOf(projected)).toEqual(shapeOf(await local.read("local-loop")))
    expect(projected.filter((entry) => entry.type === "step.finished" && entry.step === "draft").map((entry) => "visit" in entry && entry.visit)).toEqual([
      1, 2, 3,
    ])
  }, 30_000)

  it("waits on a human step, refuses an invalid decision without changing the run, then takes a valid one from another process", async () => {
    const runId = await client().start(slowApproval, { amount: 120 })
    await expect.poll(() => client().waiting(slowApproval, runId), { timeout: 10_000 }).toEqual({ step: "review", visit: 1 })
    const before = shapeOf(await store.read(runId))

    const invalid = await client()
      .decide(slowApproval, runId, "review", { approve: "yes" } as never)
      .catch((error: unknown) => error)
    expect(invalid).toBeInstanceOf(DecisionError)
    expect(invalid).toMatchObject({ reason: "invalid-decision", issues: [{ path: "approve" }] })
    const notHuman = await client()
      .decide(slowApproval, runId, "pay" as never, {} as never)
      .catch((error: unknown) => error)
    expect(notHuman).toMatchObject({ name: "DecisionError", reason: "not-human-step" })
    expect(await client().waiting(slowApproval, runId)).toEqual({ step: "review", visit: 1 })
    expect(shapeOf(await store.read(runId))).toEqual(before)

    // The decision comes from another process, which knows only the ingress and the run id.
    const script = `
      import { restateClient } from ${JSON.stringify(new URL("../../src/engines/restate/index.ts", import.meta.url).href)}
      await restateClient({ ingress: ${JSON.stringify(server.ingressUrl)} }).decide("durable-approval", ${JSON.stringify(runId)}, "review", { approve: false, note: "too much" })`
    // Long enough for Restate to suspend the waiting run: the decision resumes it by a replay.
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    await run(process.execPath, ["--input-type=module", "--eval", script])
    const result = await client().result(slowApproval, runId)
    expect(result).toMatchObject({ status: "done", step: "reject", output: "rejected: too much", steps: { review: { approve: false, note: "too much" } } })

    const local = memoryJournal()
    const handle = slowApproval.start({ amount: 120 }, { journal: local, runId: "local-approval" })
    for await (const event of handle.events) if (event.type === "human.waiting") handle.send("review", { approve: false, note: "too much" })
    await handle.result
    expect(shapeOf(await store.read(runId))).toEqual(shapeOf(await local.read("local-approval")))
    // Observers saw each event once, although the run was replayed after its suspension.
    expect(observed.filter((event) => event.runId === runId).map((event) => event.type)).toEqual((await store.read(runId)).map((entry) => entry.type))
  }, 30_000)

  it("follows the timeout edge when nobody decides in time", async () => {
    const runId = await client().start(quickApproval, { amount: 5 })
    const result = await client().result(quickApproval, runId)
    expect(result).toMatchObject({ status: "done", step: "escalate", output: "escalated to a manager" })
    const events = (await store.read(runId)).map((entry) => entry.type)
    expect(events).toContain("human.expired")
    expect(events).not.toContain("human.decided")
    const late = await client()
      .decide(quickApproval, runId, "review", { approve: true })
      .catch((error: unknown) => error)
    expect(late).toMatchObject({ name: "DecisionError", reason: "not-waiting" })
  }, 30_000)

  it("starting a run again with the same id changes nothing", async () => {
    const runId = await client().start(chain, { text: "once" }, { runId: "fixed-run-id" })
    await client().result(chain, runId)
    await client().start(chain, { text: "twice" }, { runId: "fixed-run-id" })
    expect(await client().result(chain, runId)).toMatchObject({ status: "done", output: { text: "ONCE" } })
    expect((await store.read(runId)).filter((entry) => entry.type === "run.started")).toHaveLength(1)
  }, 30_000)

  it("refuses invalid input before anything starts", async () => {
    await expect(client().start(chain, { text: 42 } as never)).rejects.toThrow(/text/)
  })
})

describe("startRestateServer", () => {
  it("fails with a typed error naming the binary when it cannot start", async () => {
    const error = await startRestateServer({ binary: "/nonexistent/restate-server", startTimeoutMs: 5_000 }).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(RestateServerError)
    expect(error).toMatchObject({ reason: "start-failed", message: expect.stringContaining("/nonexistent/restate-server") })
  })
})
