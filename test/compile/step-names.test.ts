// Step names are the user's, the machine's event types and actor ids are derived from them: no
// name the builder accepts may make one event read as another (a step named `decide` once ended
// its run done with output undefined: its completion event was read as a decision). The builder
// refuses, by name, the few names that cannot work.
import { afterEach, describe, expect, it, vi } from "vitest"
import { z } from "zod"
import { machineEvents } from "../../src/compile/run-context.ts"
import { agent, fn, human, llm, map, maxSteps, memoryJournal, PipelineDefinitionError, parallel, pipeline, route, subpipeline, tool } from "../../src/index.ts"
import { scriptedModel } from "../../src/testing/index.ts"

// The machine's own verbs and event prefixes, XState's state-config keywords and its event
// prefixes, the agent sub-chart's and the parallel state's inner state names, and the context's fields.
const trickyNames = [
  "decide",
  "expire",
  "cancel",
  "run",
  "steps",
  "input",
  "xstate",
  "done1",
  "timeout",
  "approval",
  "agent",
  "turn",
  "tools",
  "thinking",
  "callingTools",
  "awaitingApproval",
  "finished",
  "branches",
  "joining",
  "states",
  "on",
  "type",
  "after",
  "always",
  "initial",
  "invoke",
  "entry",
  "exit",
  "output",
  "context",
  "id",
  "final",
  "parallel",
  "history",
  "target",
  "prototype",
] as const

const Input = z.object({ n: z.number() })
// Each pipeline is built from a name only known at run time: the typed builder cannot check it.
// biome-ignore lint/suspicious/noExplicitAny: the step names are the test's data, not literal types
type Loose = any
const named = (name: string, step: unknown, edges: Record<string, unknown>, more: Record<string, unknown> = {}) => {
  let builder: Loose = pipeline({ id: `names-${name}`, input: Input }).step(name as "x", step as never)
  for (const [other, definition] of Object.entries(more)) builder = builder.step(other, definition)
  return builder.edges(edges)
}

afterEach(() => {
  vi.useRealTimers()
})

describe("any step name the builder accepts runs to the right output", () => {
  it.each(trickyNames)("fn step %s: its output and visit reach the next step", async (name) => {
    const p = named(
      name,
      fn(({ input, visit }: { input: { n: number }; visit: number }) => ({ n: input.n + 1, visit })),
      { [name]: "reader", reader: "done" },
      { reader: fn(({ steps }: { steps: Record<string, unknown> }) => steps[name]) },
    )
    const result = await p.run({ n: 1 })
    expect(result).toMatchObject({ status: "done", step: "reader", output: { n: 2, visit: 1 } })
    expect(result.steps[name]).toEqual({ n: 2, visit: 1 })
  })

  it.each(trickyNames)("llm step %s: the scripted model's object is the output", async (name) => {
    const p = named(name, llm({ model: "fast", prompt: () => "classify", output: z.object({ kind: z.string() }) }), { [name]: "done" })
    const result = await p.run({ n: 1 }, { models: { fast: scriptedModel([{ object: { kind: "refund" } }]) } })
    expect(result).toMatchObject({ status: "done", step: name, output: { kind: "refund" } })
  })

  it.each(trickyNames)("human step %s: a decision from another call routes, and the decision is the step's output", async (name) => {
    const journal = memoryJournal()
    const p = named(
      name,
      human({ decision: z.object({ approve: z.boolean() }) }),
      { [name]: route(["yes", "no"], ({ output }: { output: { approve: boolean } }) => (output.approve ? "yes" : "no")), yes: "done", no: "done" },
      { yes: fn(() => "approved"), no: fn(() => "refused") },
    )
    const paused = await p.run({ n: 1 }, { journal, runId: `run-${name}` })
    expect(paused).toMatchObject({ status: "awaiting-human", step: name })
    const decided = await p.decide(`run-${name}`, name, { approve: false }, { journal })
    expect(decided).toMatchObject({ status: "done", step: "no", output: "refused" })
    expect(decided.steps[name]).toEqual({ approve: false })
  })

  it.each(["expire", "timeout", "decide", "after", "xstate"])("human step %s: its deadline takes the timeout edge by itself", async (name) => {
    vi.useFakeTimers()
    const p = named(
      name,
      human({ decision: z.object({ approve: z.boolean() }), timeout: "1s" }),
      { [name]: { next: "yes", timeout: "late" }, yes: "done", late: "done" },
      { yes: fn(() => "approved"), late: fn(() => "escalated") },
    )
    const handle = p.start({ n: 1 })
    await vi.advanceTimersByTimeAsync(1_100)
    expect(await handle.result).toMatchObject({ status: "done", step: "late", output: "escalated" })
  })

  it.each(trickyNames)("agent step %s: an approved tool call runs after a resume and the answer is the output", async (name) => {
    const journal = memoryJournal()
    const calls: string[] = []
    const echo = tool({ name: "echo", input: z.object({ text: z.string() }), approval: true, run: ({ text }) => (calls.push(text), text.toUpperCase()) })
    const p = named(name, agent({ model: "smart", prompt: () => "say hi", tools: { echo }, stop: [maxSteps(3)] }), { [name]: "done" })
    const first = scriptedModel([{ toolCalls: [{ name: "echo", arguments: { text: "hi" } }] }])
    const paused = await p.run({ n: 1 }, { journal, runId: `agent-${name}`, models: { smart: first } })
    expect(paused).toMatchObject({ status: "awaiting-human", step: name })
    const result = await p.decide(`agent-${name}`, name, { action: "approve" }, { journal, models: { smart: scriptedModel(["said HI"]) } })
    expect(result).toMatchObject({ status: "done", step: name, output: "said HI" })
    expect(calls).toEqual(["hi"])
  })

  it.each(["decide", "expire", "cancel", "run", "thinking", "joining", "branches"])(
    "parallel step and branch %s, a child pipeline's step and a map over it: every output arrives",
    async (name) => {
      const child = pipeline({ id: `child.${name}`, input: Input })
        .step(
          name as "x",
          fn(({ input }: { input: { n: number } }) => input.n * 2),
        )
        .edges({ [name]: "done" } as never)
      const p = named(
        name,
        parallel({ branches: { [name]: fn(() => 1), other: subpipeline(child, { input: () => ({ n: 2 }) }) } }),
        { [name]: "each", each: "done" },
        { each: map({ over: () => [{ n: 1 }, { n: 3 }], each: child }) },
      )
      const result = await p.run({ n: 1 })
      expect(result).toMatchObject({ status: "done", step: "each", output: [2, 6] })
      expect(result.steps[name]).toEqual({ [name]: 1, other: 4 })
    },
  )

  it("a human step named run waits for its own decision and is still cancelled by run.cancel", async () => {
    const p = named("run", human({ decision: z.boolean() }), { run: "done" })
    const handle = p.start({ n: 1 })
    await vi.waitFor(() => expect(handle.actor.getSnapshot().value).toBe("run"))
    handle.cancel("no longer needed")
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: "CancelledError", message: "run cancelled: no longer needed" } })

    const decided = p.start({ n: 1 })
    await vi.waitFor(() => expect(decided.actor.getSnapshot().value).toBe("run"))
    decided.send("run", true)
    expect(await decided.result).toMatchObject({ status: "done", step: "run", output: true })
  })
})

describe("the compiled machine's event types", () => {
  it("are built from one vocabulary whose step events cannot equal a run event", () => {
    for (const name of trickyNames) {
      expect(machineEvents.decide(name)).toBe(`${name}.decide`)
      expect([machineEvents.decide(name), machineEvents.expire(name)]).not.toContain(machineEvents.cancel)
    }
  })

  it("give every listening state its own event types: no two states, nor a step and the run, share one", () => {
    const echo = tool({ name: "echo", input: z.object({ text: z.string() }), approval: true, run: ({ text }) => text })
    const names = ["run", "decide", "cancel", "expire", "xstate", "thinking"]
    const kinds = [
      () => human({ decision: z.boolean(), timeout: "1h" }),
      () => agent({ model: "smart", prompt: () => "go", tools: { echo }, stop: [maxSteps(2)] }),
      (name: string) => parallel({ branches: { [name]: fn(() => 1), thinking: fn(() => 2) } }),
    ]
    let builder: Loose = pipeline({ id: "all.kinds", input: Input })
    for (const [index, name] of names.entries()) builder = builder.step(name, (kinds[index % 3] as (name: string) => unknown)(name))
    const p = builder.edges(Object.fromEntries(names.map((name, index) => [name, names[index + 1] ?? "done"])))
    const owners = new Map<string, string[]>()
    const walk = (path: string, state: { on?: Record<string, unknown>; states?: Record<string, unknown> }) => {
      for (const type of Object.keys(state.on ?? {})) owners.set(type, [...(owners.get(type) ?? []), path])
      for (const [key, child] of Object.entries(state.states ?? {})) walk(`${path}.${key}`, child as never)
    }
    walk("(root)", p.machine.config as never)
    const shared = [...owners].filter(([, states]) => states.length > 1)
    expect(shared).toEqual([])
    expect(owners.get(machineEvents.cancel)).toEqual(["(root)"])
    for (const name of ["run", "expire"]) expect(owners.get(machineEvents.decide(name))).toEqual([`(root).${name}`])
    for (const name of ["decide", "xstate"]) expect(owners.get(machineEvents.decide(name))).toEqual([`(root).${name}.awaitingApproval`])
    for (const name of ["cancel", "thinking"]) expect(owners.get(`xstate.done.actor.${name}`)).toEqual([`(root).${name}`])
  })
})

describe("names the builder refuses, by name and why", () => {
  const refusal = (name: unknown) => {
    try {
      pipeline({ id: "refused", input: Input }).step(
        name as never,
        fn(() => 1),
      )
    } catch (error) {
      expect(error).toBeInstanceOf(PipelineDefinitionError)
      return (error as PipelineDefinitionError).problems
    }
    throw new Error(`expected the step name ${String(name)} to be refused`)
  }

  it.each(["constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString"])(
    "%s: a property every object has, so it cannot key the outputs",
    (name) => {
      expect(refusal(name)).toEqual([
        { steps: [name], message: expect.stringContaining(`step name "${name}" is reserved: every JavaScript object has the property`) },
      ])
    },
  )

  it.each(["done", "failed", "stopped"])("%s: a final state of the run", (name) => {
    expect(refusal(name)).toEqual([{ steps: [name], message: expect.stringContaining(`step name "${name}" is reserved (done, failed and stopped`) }])
  })

  it.each(["has.dot", "__proto__", "", "1st", "a b", "review*"])("%j: not a letter followed by letters, digits, _ or -", (name) => {
    expect(refusal(name)).toEqual([{ steps: [name], message: expect.stringContaining("must start with a letter") }])
  })

  it.each([undefined, null, 42, ["a"]])("%j: not a string", (name) => {
    expect(refusal(name)).toEqual([{ steps: [], message: expect.stringMatching(/^a step name must be a string, got /) }])
  })
})
