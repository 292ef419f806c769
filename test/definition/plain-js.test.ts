// A pipeline written in plain JavaScript (a .js file, a cast, options read from JSON) gets no help
// from the types: every builder checks what it is given, and a wrong argument is a
// PipelineDefinitionError naming the step, the builder and the field, when the pipeline is built.
// Nothing wrong reaches a run, and run() itself never rejects, whatever it is given.
import { describe, expect, it } from "vitest"
import { z } from "zod"
import * as typed from "../../src/index.ts"
import { memoryJournal, PipelineDefinitionError } from "../../src/index.ts"

// biome-ignore lint/suspicious/noExplicitAny: these tests call the builders as untyped JavaScript does
const js: any = typed

const input = z.object({ n: z.number() })
const echo = js.tool({ name: "echo", input: z.object({ text: z.string() }), run: ({ text }: { text: string }) => text })
const retriever = { retrieve: async () => [] }
const stop = [js.maxSteps(2)]
const child = js
  .pipeline({ id: "child", input })
  .step(
    "double",
    js.fn(() => 2),
  )
  .edges({ double: "done" })

/** The error a build threw, after checking it is a PipelineDefinitionError. */
const refusal = (build: () => unknown): PipelineDefinitionError => {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineDefinitionError)
    return error as PipelineDefinitionError
  }
  throw new Error("expected the definition to be refused")
}
const stepIn = (step: unknown) => () => js.pipeline({ id: "plain", input }).step("s", step)

describe("pipeline(options)", () => {
  it.each([
    ["no options", undefined, "pipeline(options) must be an object { id, input }, got undefined"],
    ["null", null, "pipeline(options) must be an object { id, input }, got null"],
    ["an array", [], "pipeline(options) must be an object { id, input }, got an empty array"],
    ["no id", { input }, "pipeline({ ... }).id must be an id that starts with a letter and uses letters, digits"],
    ["a number id", { id: 7, input }, 'pipeline({ ... }).id must be an id that starts with a letter and uses letters, digits, "_", "-" or ".", got 7'],
    [
      "an id with a space",
      { id: "my pipeline", input },
      'pipeline({ ... }).id must be an id that starts with a letter and uses letters, digits, "_", "-" or ".", got "my pipeline"',
    ],
    ["no input schema", { id: "p" }, "pipeline({ ... }).input must be a zod schema, got undefined"],
    ["a plain object as input", { id: "p", input: { n: "number" } }, "pipeline({ ... }).input must be a zod schema, got an object"],
    ["a schema factory not called", { id: "p", input: z.object }, "pipeline({ ... }).input must be a zod schema, got a function"],
    ["a misspelt option", { id: "p", input, inputs: input }, 'pipeline({ ... }) does not take "inputs" (it takes id, input, description, policy, budget)'],
    ["a description that is no string", { id: "p", input, description: 5 }, "pipeline({ ... }).description must be a string, got 5"],
    ["a misspelt policy key", { id: "p", input, policy: { retries: 3 } }, 'pipeline({ ... }).policy does not take "retries"'],
    ["zero attempts", { id: "p", input, policy: { retry: { attempts: 0 } } }, "pipeline({ ... }).policy.retry.attempts must be an integer >= 1, got 0"],
    [
      "NaN attempts",
      { id: "p", input, policy: { retry: { attempts: Number.NaN } } },
      "pipeline({ ... }).policy.retry.attempts must be an integer >= 1, got NaN",
    ],
    ["a negative timeout", { id: "p", input, policy: { timeout: -5 } }, "pipeline({ ... }).policy.timeout must be a duration (milliseconds >= 0"],
    [
      "an unreadable timeout",
      { id: "p", input, policy: { attemptTimeout: "soon" } },
      'pipeline({ ... }).policy.attemptTimeout must be a duration (milliseconds >= 0, or a string such as "250ms", "30s", "5m", "24h"), got "soon"',
    ],
    [
      "a retry factor under 1",
      { id: "p", input, policy: { retry: { attempts: 2, factor: 0.5 } } },
      "pipeline({ ... }).policy.retry.factor must be a number >= 1, got 0.5",
    ],
    ["a negative budget", { id: "p", input, budget: { usd: -1 } }, "pipeline({ ... }).budget.usd must be a number > 0, got -1"],
    ["a misspelt budget key", { id: "p", input, budget: { tokns: 5 } }, 'pipeline({ ... }).budget does not take "tokns" (it takes tokens, usd, ms)'],
  ])("refuses %s", (_, options, message) => {
    const error = refusal(() => js.pipeline(options))
    expect(error.problems.map((problem) => problem.message)).toContainEqual(expect.stringContaining(message))
  })

  it("names a pipeline without a usable id as (no id)", () => {
    expect(refusal(() => js.pipeline({ input })).pipeline).toBe("(no id)")
  })
})

describe(".step(name, step): what is not a step", () => {
  it.each([
    ["undefined", undefined],
    ["null", null],
    ["an empty object", {}],
    ["an unknown kind", { kind: "teleport" }],
    ["a builder not called", js.fn],
    ["a string", "fn"],
  ])("refuses %s, naming the step and the builders", (_, step) => {
    const error = refusal(stepIn(step))
    expect(error.problems).toEqual([
      { steps: ["s"], message: expect.stringContaining('step "s" is not a step definition: build it with fn(), llm(), callTool(), human()') },
    ])
  })
})

// Each case: what is built, and the message that must name the step, the builder and the field.
const stepCases: ReadonlyArray<readonly [string, () => unknown, string]> = [
  // fn
  ["fn with a string for run", () => js.fn("return 1"), 'step "s": fn(run) must be a function, got "return 1"'],
  ["fn without run", () => js.fn(), 'step "s": fn(run) must be a function, got undefined'],
  ["fn with options that are a string", () => js.fn(() => 1, "fast"), 'step "s": fn(run, options) must be an object, got "fast"'],
  ["fn with null options", () => js.fn(() => 1, null), 'step "s": fn(run, options) must be an object, got null'],
  ["fn with a misspelt option", () => js.fn(() => 1, { polcy: {} }), 'step "s": fn(run, { ... }) does not take "polcy" (it takes description, policy)'],
  [
    "fn with a retry count of -1",
    () => js.fn(() => 1, { policy: { retry: { attempts: -1 } } }),
    'step "s": fn(run, { ... }).policy.retry.attempts must be an integer >= 1, got -1',
  ],
  ["fn with a NaN timeout", () => js.fn(() => 1, { policy: { timeout: Number.NaN } }), 'step "s": fn(run, { ... }).policy.timeout must be a duration'],
  [
    "fn with retry: true",
    () => js.fn(() => 1, { policy: { retry: true } }),
    'step "s": fn(run, { ... }).policy.retry must be false or { attempts, initialDelay, factor, maxDelay, jitter }, got true',
  ],
  // rememberFacts
  ["rememberFacts without a function", () => js.rememberFacts({ name: "x" }), 'step "s": rememberFacts(select) must be a function, got an object'],
  [
    "rememberFacts with a policy",
    () => js.rememberFacts(() => ({}), { policy: {} }),
    'step "s": rememberFacts(select, { ... }) does not take "policy" (it takes description)',
  ],
  // llm
  ["llm without options", () => js.llm(), 'step "s": llm(options) must be an object, got undefined'],
  ["llm with an array for options", () => js.llm(["fast"]), 'step "s": llm(options) must be an object, got an array'],
  [
    "llm without a model",
    () => js.llm({ prompt: () => "x" }),
    'step "s": llm({ ... }).model must be a model alias (a string) or a Model (an object with generate()), got undefined',
  ],
  ["llm with an empty model alias", () => js.llm({ model: " ", prompt: () => "x" }), 'step "s": llm({ ... }).model must be a model alias'],
  ["llm with a prompt string", () => js.llm({ model: "fast", prompt: "Classify" }), 'step "s": llm({ ... }).prompt must be a function, got "Classify"'],
  [
    "llm with a numeric system",
    () => js.llm({ model: "fast", prompt: () => "x", system: 1 }),
    'step "s": llm({ ... }).system must be a string or a function, got 1',
  ],
  [
    "llm with a non-zod output",
    () => js.llm({ model: "fast", prompt: () => "x", output: { kind: "string" } }),
    'step "s": llm({ ... }).output must be a zod schema, got an object',
  ],
  [
    "llm with a fallback string",
    () => js.llm({ model: "fast", prompt: () => "x", fallback: "smart" }),
    'step "s": llm({ ... }).fallback must be a list of models',
  ],
  [
    "llm with a bad fallback item",
    () => js.llm({ model: "fast", prompt: () => "x", fallback: ["smart", 3] }),
    'step "s": llm({ ... }).fallback[1] must be a model alias',
  ],
  [
    "llm with a NaN temperature",
    () => js.llm({ model: "fast", prompt: () => "x", temperature: Number.NaN }),
    'step "s": llm({ ... }).temperature must be a finite number, got NaN',
  ],
  [
    "llm with 0 output tokens",
    () => js.llm({ model: "fast", prompt: () => "x", maxOutputTokens: 0 }),
    'step "s": llm({ ... }).maxOutputTokens must be an integer >= 1, got 0',
  ],
  [
    "llm with stream: 'yes'",
    () => js.llm({ model: "fast", prompt: () => "x", stream: "yes" }),
    'step "s": llm({ ... }).stream must be true or false, got "yes"',
  ],
  [
    "llm with a negative repair",
    () => js.llm({ model: "fast", prompt: () => "x", repair: -1 }),
    'step "s": llm({ ... }).repair must be an integer >= 0, got -1',
  ],
  [
    "llm with a bad thread",
    () => js.llm({ model: "fast", prompt: () => "x", thread: { lastMessages: -1 } }),
    'step "s": llm({ ... }).thread.lastMessages must be an integer >= 0, got -1',
  ],
  [
    "llm with thread: 'all'",
    () => js.llm({ model: "fast", prompt: () => "x", thread: "all" }),
    'step "s": llm({ ... }).thread must be true, false or { lastMessages }, got "all"',
  ],
  ["llm with a misspelt option", () => js.llm({ model: "fast", prompt: () => "x", temprature: 0 }), 'step "s": llm({ ... }) does not take "temprature"'],
  // callTool / tool
  [
    "callTool without a tool",
    () => js.callTool(undefined, () => ({})),
    'step "s": callTool(tool) must be a tool built with tool({ name, input, run }), got undefined',
  ],
  [
    "callTool with a badly named tool",
    () => js.callTool(js.tool({ name: "look up", input, run: () => 1 }), () => ({})),
    'step "s": callTool(tool).name must be a tool name',
  ],
  [
    "callTool with a tool without input",
    () => js.callTool(js.tool({ name: "t", run: () => 1 }), () => ({})),
    'step "s": callTool(tool).input must be a zod schema, got undefined',
  ],
  [
    "callTool with a tool without run",
    () => js.callTool(js.tool({ name: "t", input }), () => ({})),
    'step "s": callTool(tool).run must be a function, got undefined',
  ],
  [
    "callTool with a negative tool timeout",
    () => js.callTool(js.tool({ name: "t", input, run: () => 1, timeout: -1 }), () => ({})),
    'step "s": callTool(tool).timeout must be a duration',
  ],
  [
    "callTool with approval: 'yes'",
    () => js.callTool(js.tool({ name: "t", input, run: () => 1, approval: "yes" }), () => ({})),
    'step "s": callTool(tool).approval must be true, false, a predicate or { when, timeout }, got "yes"',
  ],
  [
    "callTool with a bad approval timeout",
    () => js.callTool(js.tool({ name: "t", input, run: () => 1, approval: { timeout: "soon" } }), () => ({})),
    'step "s": callTool(tool).approval.timeout must be a duration',
  ],
  [
    "callTool with a misspelt tool field",
    () => js.callTool(js.tool({ name: "t", input, run: () => 1, idempotant: true }), () => ({})),
    'step "s": callTool(tool) does not take "idempotant"',
  ],
  ["callTool with arguments that are no function", () => js.callTool(echo, { text: "hi" }), 'step "s": callTool(tool, args) must be a function, got an object'],
  [
    "callTool with a misspelt option",
    () => js.callTool(echo, () => ({ text: "x" }), { descripton: "x" }),
    'step "s": callTool(tool, args, { ... }) does not take "descripton"',
  ],
  // human
  ["human without options", () => js.human(), 'step "s": human(options) must be an object, got undefined'],
  ["human({})", () => js.human({}), 'step "s": human({ ... }).decision must be a zod schema, got undefined'],
  ["human with a schema factory not called", () => js.human({ decision: z.boolean }), 'step "s": human({ ... }).decision must be a zod schema, got a function'],
  [
    "human with a negative timeout",
    () => js.human({ decision: z.boolean(), timeout: -1 }),
    'step "s": human({ ... }).timeout must be a duration (milliseconds >= 0',
  ],
  [
    "human with a NaN timeout",
    () => js.human({ decision: z.boolean(), timeout: Number.NaN }),
    'step "s": human({ ... }).timeout must be a duration (milliseconds >= 0, or a string such as "250ms", "30s", "5m", "24h"), got NaN',
  ],
  [
    "human with a prompt string",
    () => js.human({ decision: z.boolean(), prompt: "Approve?" }),
    'step "s": human({ ... }).prompt must be a function, got "Approve?"',
  ],
  [
    "human with a misspelt timeout",
    () => js.human({ decision: z.boolean(), timout: "1h" }),
    'step "s": human({ ... }) does not take "timout" (it takes decision, timeout, prompt, description)',
  ],
  // retrieve
  [
    "retrieve without a retriever",
    () => js.retrieve({ query: () => "q" }),
    'step "s": retrieve({ ... }).retriever must be a Retriever (an object with retrieve(query, { k, signal })), got undefined',
  ],
  ["retrieve without a query", () => js.retrieve({ retriever }), 'step "s": retrieve({ ... }).query must be a function, got undefined'],
  ["retrieve with k = 0", () => js.retrieve({ retriever, query: () => "q", k: 0 }), 'step "s": retrieve({ ... }).k must be an integer >= 1, got 0'],
  [
    "retrieve with a NaN minScore",
    () => js.retrieve({ retriever, query: () => "q", minScore: Number.NaN }),
    'step "s": retrieve({ ... }).minScore must be a finite number, got NaN',
  ],
  [
    "retrieve with relevance: true",
    () => js.retrieve({ retriever, query: () => "q", relevance: true }),
    'step "s": retrieve({ ... }).relevance must be { model, prompt? }, got true',
  ],
  [
    "retrieve with a relevance model missing",
    () => js.retrieve({ retriever, query: () => "q", relevance: {} }),
    'step "s": retrieve({ ... }).relevance.model must be a model alias',
  ],
  // agent
  [
    "agent without stop rules",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {} }),
    'step "s": agent({ ... }).stop must be a list of at least one stop rule',
  ],
  ["agent with no stop rule", () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop: [] }), "an agent loop must be bounded, got an empty array"],
  [
    "agent with a number as a stop rule",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop: [5] }),
    'step "s": agent({ ... }).stop[0] must be a stop rule',
  ],
  [
    "agent without tools",
    () => js.agent({ model: "smart", prompt: () => "go", stop }),
    'step "s": agent({ ... }).tools must be an object of tools ({ lookupOrder }; {} for none), got undefined',
  ],
  [
    "agent with a list of tools",
    () => js.agent({ model: "smart", prompt: () => "go", tools: [echo], stop }),
    'step "s": agent({ ... }).tools must be an object of tools',
  ],
  [
    "agent with a bad tool key",
    () => js.agent({ model: "smart", prompt: () => "go", tools: { "look up": echo }, stop }),
    'step "s": agent({ ... }).tools has the key "look up"',
  ],
  [
    "agent with something that is no tool",
    () => js.agent({ model: "smart", prompt: () => "go", tools: { echo: () => 1 }, stop }),
    'step "s": agent({ ... }).tools.echo must be a tool built with tool({ name, input, run }), got a function',
  ],
  [
    "agent with 0 concurrent tools",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop, toolConcurrency: 0 }),
    'step "s": agent({ ... }).toolConcurrency must be an integer >= 1, got 0',
  ],
  [
    "agent with -1 tool errors",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop, maxToolErrors: -1 }),
    'step "s": agent({ ... }).maxToolErrors must be an integer >= 1, got -1',
  ],
  [
    "agent with a history of 0 tokens",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop, history: { maxTokens: 0 } }),
    'step "s": agent({ ... }).history.maxTokens must be a number > 0, got 0',
  ],
  [
    "agent with a bad approval timeout",
    () => js.agent({ model: "smart", prompt: () => "go", tools: {}, stop, approval: { timeout: "later" } }),
    'step "s": agent({ ... }).approval.timeout must be a duration',
  ],
  ["agent without a prompt", () => js.agent({ model: "smart", tools: {}, stop }), 'step "s": agent({ ... }).prompt must be a function, got undefined'],
  // parallel
  ["parallel without branches", () => js.parallel({}), 'step "s": parallel({ ... }).branches must be an object of at least one branch'],
  [
    "parallel with no branch",
    () => js.parallel({ branches: {} }),
    'step "s": parallel({ ... }).branches must be an object of at least one branch ({ title: llm(...), words: fn(...) }), got an object',
  ],
  ["parallel with a number branch", () => js.parallel({ branches: { a: 5 } }), 'step "s": parallel({ ... }).branches.a is not a step definition'],
  [
    "parallel with a human branch without a decision schema",
    () => js.parallel({ branches: { ask: js.human({}) } }),
    'step "s": parallel({ ... }).branches.ask: human({ ... }).decision must be a zod schema',
  ],
  [
    "parallel with a parallel branch",
    () => js.parallel({ branches: { inner: js.parallel({ branches: { a: js.fn(() => 1) } }) } }),
    'step "s": parallel({ ... }).branches.inner is a parallel step: nest it in a pipeline',
  ],
  [
    "parallel with an agent branch",
    () => js.parallel({ branches: { a: js.agent({ model: "m", prompt: () => "x", tools: {}, stop }) } }),
    'step "s": parallel({ ... }).branches.a is an agent step: nest it in a pipeline',
  ],
  [
    "parallel with a badly named branch",
    () => js.parallel({ branches: { "a b": js.fn(() => 1) } }),
    'step "s": parallel({ ... }).branches has the branch "a b"',
  ],
  [
    "parallel with a broken branch",
    () => js.parallel({ branches: { title: js.llm({ model: "fast" }) } }),
    'step "s": parallel({ ... }).branches.title: llm({ ... }).prompt must be a function, got undefined',
  ],
  [
    "parallel with a join that is no function",
    () => js.parallel({ branches: { a: js.fn(() => 1) }, join: "concat" }),
    'step "s": parallel({ ... }).join must be a function, got "concat"',
  ],
  // map
  ["map without over", () => js.map({ each: js.fn(() => 1) }), 'step "s": map({ ... }).over must be a function, got undefined'],
  [
    "map over a list instead of a function",
    () => js.map({ over: [1, 2], each: js.fn(() => 1) }),
    'step "s": map({ ... }).over must be a function, got an array',
  ],
  ["map without each", () => js.map({ over: () => [] }), 'step "s": map({ ... }).each is not a step definition'],
  [
    "map with a human item without a decision schema",
    () => js.map({ over: () => [], each: js.human({}) }),
    'step "s": map({ ... }).each: human({ ... }).decision must be a zod schema',
  ],
  [
    "map with a broken item",
    () => js.map({ over: () => [], each: js.fn(() => 1, { policy: { timeout: "soon" } }) }),
    'step "s": map({ ... }).each: fn(run, { ... }).policy.timeout must be a duration',
  ],
  [
    "map with concurrency 0",
    () => js.map({ over: () => [], each: js.fn(() => 1), concurrency: 0 }),
    'step "s": map({ ... }).concurrency must be an integer >= 1, got 0',
  ],
  [
    "map with maxItems -1",
    () => js.map({ over: () => [], each: js.fn(() => 1), maxItems: -1 }),
    'step "s": map({ ... }).maxItems must be an integer >= 0, got -1',
  ],
  [
    "map with an unknown item policy",
    () => js.map({ over: () => [], each: js.fn(() => 1), onItemError: "ignore" }),
    'step "s": map({ ... }).onItemError must be "fail-fast", "collect" or atLeast(k), got "ignore"',
  ],
  ["map with a misspelt option", () => js.map({ over: () => [], each: js.fn(() => 1), concurency: 2 }), 'step "s": map({ ... }) does not take "concurency"'],
  // subpipeline
  [
    "subpipeline without a child",
    () => js.subpipeline(undefined, { input: () => ({}) }),
    'step "s": subpipeline(child) must be a built pipeline (pipeline(...).step(...).edges(...)), got undefined',
  ],
  [
    "subpipeline of an unbuilt pipeline",
    () => js.subpipeline(js.pipeline({ id: "c", input }), { input: () => ({}) }),
    'step "s": subpipeline(child) must be a built pipeline',
  ],
  ["subpipeline without options", () => js.subpipeline(child), 'step "s": subpipeline(child, options) must be an object, got undefined'],
  [
    "subpipeline with an input object",
    () => js.subpipeline(child, { input: { n: 1 } }),
    'step "s": subpipeline(child, { ... }).input must be a function, got an object',
  ],
]

describe(".step(name, step): each builder's arguments", () => {
  it.each(stepCases)("refuses %s, naming the step, the builder and the field", (_, build, message) => {
    const error = refusal(stepIn(build()))
    expect(error.pipeline).toBe("plain")
    expect(error.problems).toContainEqual({ steps: ["s"], message: expect.stringContaining(message) })
    expect(error.message).toContain(message)
  })

  it("reports every wrong field of a step at once", () => {
    const error = refusal(stepIn(js.llm({ model: 3, prompt: "x", temperature: "hot" })))
    expect(error.problems.map((problem) => problem.message)).toEqual([
      'step "s": llm({ ... }).model must be a model alias (a string) or a Model (an object with generate()), got 3',
      'step "s": llm({ ... }).prompt must be a function, got "x"',
      'step "s": llm({ ... }).temperature must be a finite number, got "hot"',
    ])
  })

  it("accepts every builder used right, and hand-written steps that match them", () => {
    const built = js
      .pipeline({ id: "right", input, policy: { retry: false }, budget: { usd: 1 } })
      .step(
        "a",
        js.fn(() => 1, { policy: { retry: { attempts: 2, initialDelay: 0 }, timeout: "1s" } }),
      )
      .step("b", js.llm({ model: "fast", prompt: () => "x", thread: true, fallback: ["smart"] }))
      .step(
        "c",
        js.callTool(echo, () => ({ text: "x" })),
      )
      .step("d", js.retrieve({ retriever, query: () => "q", relevance: { model: "fast" } }))
      .step("e", js.agent({ model: "smart", prompt: () => "go", tools: { echo }, stop, approval: { timeout: "1h" } }))
      .step("f", js.parallel({ branches: { x: js.fn(() => 1), y: js.subpipeline(child, { input: () => ({ n: 1 }) }) } }))
      .step("g", js.map({ over: () => [], each: child, onItemError: js.atLeast(0) }))
      .step(
        "h",
        js.rememberFacts(() => ({ seen: true })),
      )
      .step("i", { kind: "fn", run: () => 2 })
      .step("j", js.human({ decision: z.boolean(), timeout: 1_000 }))
      .edges({ a: "b", b: "c", c: "d", d: "e", e: "f", f: "g", g: "h", h: "i", i: "j", j: { next: "done", timeout: "done" } })
    expect(built.stepNames).toEqual(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
  })
})

describe(".edges(edges)", () => {
  const twoSteps = () =>
    js
      .pipeline({ id: "edges", input })
      .step(
        "a",
        js.fn(() => 1),
      )
      .step(
        "b",
        js.fn(() => 2),
      )
  it.each([
    ["null", null, 'edges(...) must be an object with an edge for each step ({ step: "next" }), got null'],
    ["a list", ["b", "done"], "edges(...) must be an object with an edge for each step"],
    ["a string", "done", 'edges(...) must be an object with an edge for each step ({ step: "next" }), got "done"'],
    ["a number edge", { a: 5, b: "done" }, 'edges.a must be an edge: a step name, "done", route([...], fn) or { next, ... }, got 5'],
    ["a null edge", { a: null, b: "done" }, "edges.a must be an edge"],
    ["a long form without next", { a: { error: "b" }, b: "done" }, 'edges.a.next must be a step name, "done" or route([...], fn), got undefined'],
    [
      "a misspelt long form key",
      { a: { next: "b", eror: "done" }, b: "done" },
      'edges.a does not take "eror" (it takes next, error, timeout, stop, stopped, empty)',
    ],
    ["a nested long form", { a: { next: { next: "b" } }, b: "done" }, 'edges.a.next must be a step name, "done" or route([...], fn), got an object'],
    ["a route without select", { a: { kind: "route", targets: ["b"] }, b: "done" }, "edges.a.select must be a function, got undefined"],
    ["a route whose targets are a string", { a: js.route("b", () => "b"), b: "done" }, 'edges.a.targets must be a list of target names, got "b"'],
    ["a route with a number target", { a: js.route(["b", 2], () => "b"), b: "done" }, "edges.a.targets[1] must be a string, got 2"],
    [
      "a stop rule that is a number",
      { a: { next: "b", stop: 3 }, b: "done" },
      "edges.a.stop must be a stop rule (maxVisits(n), maxSteps(n), budget({ ... }), when(name, predicate), …), got 3",
    ],
    ["a list with a null stop rule", { a: { next: "b", stop: [js.maxVisits(2), null] }, b: "done" }, "edges.a.stop[1] must be a stop rule"],
    ["an error target that is no string", { a: { next: "b", error: 1 }, b: "done" }, "edges.a.error must be a string, got 1"],
  ])("refuses %s, naming the edge and the field", (_, edges, message) => {
    const error = refusal(() => twoSteps().edges(edges))
    expect(error.problems.map((problem) => problem.message)).toContainEqual(expect.stringContaining(message))
  })
})

describe("stop rules, which have no step yet, check their arguments at the call", () => {
  it.each([
    [
      "when with a number for its name",
      () => js.when(5, () => true),
      "when(name, predicate): name must be a non-empty string (it names the rule in charts and results), got 5",
    ],
    ["when without a predicate", () => js.when("enough"), 'when("enough", predicate): predicate must be a function, got undefined'],
    ["budget(null)", () => js.budget(null), "budget({ tokens?, usd?, ms? }): expected an object of limits, got null"],
    ["not() of nothing", () => js.not(undefined), "not(...) rule 1 must be a stop rule"],
    [
      "and() with a number",
      () => js.and(js.maxSteps(2), 3),
      "and(...) rule 2 must be a stop rule (maxVisits(n), maxSteps(n), budget({ ... }), when(name, predicate), …), got 3",
    ],
    ["maxVisits of a string", () => js.maxVisits("3"), "maxVisits(n): n must be an integer >= 1"],
  ])("refuses %s, naming the factory and the argument", (_, build, message) => {
    expect(build).toThrow(message)
  })
})

describe("run() never rejects", () => {
  const echoInput = js
    .pipeline({ id: "echo", input })
    .step(
      "echo",
      js.fn(({ input: value }: { input: { n: number } }) => value.n),
    )
    .edges({ echo: "done" })

  it.each([
    ["no input", [undefined], "InputValidationError", "invalid run input"],
    ["input of the wrong type", ["seven"], "InputValidationError", "invalid run input"],
    ["null options", [{ n: 1 }, null], "ConfigurationError", "run(input, options): options must be an object, got null"],
    ["options that are a string", [{ n: 1 }, "fast"], "ConfigurationError", 'run(input, options): options must be an object, got "fast"'],
    ["a misspelt journal", [{ n: 1 }, { jounral: memoryJournal() }], "ConfigurationError", 'run(input, { ... }) does not take "jounral"'],
    ["a journal that is none", [{ n: 1 }, { journal: {} }], "ConfigurationError", "run(input, { ... }).journal must be a Journal"],
    ["a signal that is none", [{ n: 1 }, { signal: true }], "ConfigurationError", "run(input, { ... }).signal must be an AbortSignal, got true"],
    [
      "observers that are no list",
      [{ n: 1 }, { observers: () => {} }],
      "ConfigurationError",
      "run(input, { ... }).observers must be a list of functions of an event",
    ],
    [
      "a model that is a string",
      [{ n: 1 }, { models: { fast: "gpt" } }],
      "ConfigurationError",
      'run(input, { ... }).models.fast must be a Model (an object with generate()), got "gpt"',
    ],
    ["an empty run id", [{ n: 1 }, { runId: "" }], "ConfigurationError", "run(input, { ... }).runId must be a non-empty string"],
    ["a negative journal timeout", [{ n: 1 }, { journalTimeout: -1 }], "ConfigurationError", "run(input, { ... }).journalTimeout must be a duration"],
  ])("with %s: the run fails, typed, and nothing is journaled", async (_, args, tag, message) => {
    const result = await echoInput.run(...args)
    expect(result).toMatchObject({ status: "failed", error: { _tag: tag, message: expect.stringContaining(message) } })
    const handle = echoInput.start(...args)
    expect(await handle.result).toMatchObject({ status: "failed", error: { _tag: tag } })
  })

  it("fails the run, without rejecting, when the input schema itself throws", async () => {
    const exploding = z.custom(() => {
      throw new Error("the schema's own check threw")
    })
    const p = js
      .pipeline({ id: "exploding", input: exploding })
      .step(
        "a",
        js.fn(() => 1),
      )
      .edges({ a: "done" })
    await expect(p.run({})).resolves.toMatchObject({ status: "failed", error: { message: expect.stringContaining("the schema's own check threw") } })
  })

  it("runs with a journal after refusing a run without one, and journals nothing for the refused run", async () => {
    const journal = memoryJournal()
    const refused = await echoInput.run({ n: "x" }, { journal, runId: "refused" })
    expect(refused).toMatchObject({ status: "failed", runId: "refused", error: { _tag: "InputValidationError" } })
    expect(await journal.read("refused")).toEqual([])
    expect(await echoInput.run({ n: 4 }, { journal, runId: "ok" })).toMatchObject({ status: "done", output: 4 })
  })
})
