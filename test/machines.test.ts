// Generic checks over every machine in machines/: the chart is sound (every state reachable, every
// state has a way on), its config is plain JSON, and each machine's samples end as documented.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { getAdjacencyMap, getShortestPaths } from "@xstate/graph"
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest"
import type { AnyEventObject } from "xstate"
import { type Models, memoryJournal, type Pipeline, type PipelineMachine, type RunEvent, type RunResult } from "../src/index.ts"

interface Sample {
  readonly name: string
  readonly input: unknown
  readonly decisions?: Readonly<Record<string, unknown>>
  readonly expected: { readonly status: string; readonly step: string; readonly path: readonly string[] }
}

interface MachineModule {
  readonly default: Pipeline<unknown, Record<string, unknown>>
  readonly samples: readonly Sample[]
  readonly sampleDecisions?: Readonly<Record<string, readonly unknown[]>>
  readonly scriptedModels: () => Models
}

const directory = fileURLToPath(new URL("../machines/", import.meta.url))
const files = readdirSync(directory)
  .filter((file) => file.endsWith(".machine.ts"))
  .sort()
const modules = await Promise.all(files.map(async (file) => [file, (await import(pathToFileURL(join(directory, file)).href)) as MachineModule] as const))

const finals = new Set(["done", "failed", "stopped"])

interface TransitionConfig {
  readonly target?: string
  readonly guard?: { readonly params: { readonly to: string } }
  readonly actions?: ReadonlyArray<{ readonly type: string }>
}
interface StateConfig {
  readonly type?: string
  readonly onDone?: readonly TransitionConfig[]
  readonly meta?: { readonly agent?: { readonly tools: readonly string[]; readonly approvalTools: readonly string[]; readonly maxToolErrors: number } }
  readonly invoke?: { readonly onDone: readonly TransitionConfig[]; readonly onError: readonly TransitionConfig[] }
  readonly on?: Readonly<Record<string, readonly TransitionConfig[]>>
  readonly after?: Readonly<Record<string, readonly TransitionConfig[]>>
}
const statesOf = (machine: PipelineMachine) => machine.config.states as unknown as Readonly<Record<string, StateConfig>>

/** Every event that can move the machine: each step's done event once per declared target, its error, every sample decision, each deadline. */
const eventsOf = (machine: PipelineMachine, decisions: Readonly<Record<string, readonly unknown[]>>): AnyEventObject[] => {
  const events: AnyEventObject[] = []
  for (const [name, state] of Object.entries(statesOf(machine))) {
    if (state.meta?.agent !== undefined) events.push(...agentEventsOf(name, state))
    // A parallel step's routes hang on its own state, under its join's done event.
    const onDone = state.invoke?.onDone ?? state.on?.[`xstate.done.actor.${name}`]
    if (onDone !== undefined) {
      // A guarded transition names the target its route chose; the unguarded `unknownRoute` fallback is not a declared target.
      const targets = new Set(
        onDone.flatMap((transition) =>
          transition.guard !== undefined
            ? [transition.guard.params.to]
            : transition.actions?.some((action) => action.type === "unknownRoute")
              ? []
              : [transition.target as string],
        ),
      )
      for (const next of targets) events.push({ type: `xstate.done.actor.${name}`, output: { output: null, next } })
      events.push({ type: `xstate.error.actor.${name}`, error: { _tag: "StepCodeError", step: name, retryable: false, message: "boom" } })
    }
    if (state.on?.[`${name}.decide`] !== undefined) {
      for (const decision of decisions[name] ?? []) events.push({ type: `${name}.decide`, decision })
      events.push({ type: `${name}.expire` })
      for (const after of (machine.states[name] as unknown as { after: ReadonlyArray<{ eventType: string }> }).after) events.push({ type: after.eventType })
    }
  }
  return events
}

/** An agent step's sub-chart: the model answers (once per route), calls each tool or fails; a tool batch succeeds or errs; a person approves. */
const agentEventsOf = (name: string, state: StateConfig): AnyEventObject[] => {
  const { tools, approvalTools, maxToolErrors } = state.meta?.agent as NonNullable<NonNullable<StateConfig["meta"]>["agent"]>
  const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costUsd: 0, calls: 0, unpricedCalls: 0 }
  const turn = (extra: object) => ({
    type: `xstate.done.actor.${name}.thinking`,
    output: { turn: 1, text: "", calls: [], usage, elapsedMs: 0, runUsage: usage, runElapsedMs: 0, ...extra },
  })
  const targets = new Set((state.onDone ?? []).flatMap((transition) => (transition.guard?.params.to === undefined ? [] : [transition.guard.params.to])))
  const result = (isError: boolean) => ({ callId: "c", name: tools[0] ?? "tool", content: isError ? "error" : "ok", isError, ran: true })
  return [
    ...[...targets].map((next) => turn({ answer: { output: null, next } })),
    ...tools.map((tool) => turn({ calls: [{ id: "c", name: tool, arguments: {}, approval: approvalTools.includes(tool) ? "needed" : "none" }] })),
    { type: `xstate.done.actor.${name}.callingTools`, output: { results: [result(false)], elapsedMs: 0 } },
    { type: `xstate.done.actor.${name}.callingTools`, output: { results: Array.from({ length: maxToolErrors }, () => result(true)), elapsedMs: 0 } },
    { type: `xstate.error.actor.${name}.thinking`, error: { _tag: "StepCodeError", step: name, retryable: false, message: "boom" } },
    ...(approvalTools.length === 0 ? [] : [{ type: `${name}.decide`, decision: { action: "approve" } }]),
  ]
}

const humanSteps = (machine: PipelineMachine) =>
  Object.entries(statesOf(machine)).flatMap(([name, state]) => (state.on?.[`${name}.decide`] === undefined ? [] : [name]))

/** Value and visit counts (and agents' turns): enough to tell loop iterations apart, bounded by the stop rules. */
const serializeState = (snapshot: unknown) => {
  const { value, context } = snapshot as {
    value: unknown
    context: { visits: Record<string, number>; agents?: Record<string, { turns: number; lastToolCalls: string[] }> }
  }
  const agents = Object.values(context.agents ?? {}).map((agent) => [agent.turns, agent.lastToolCalls])
  // An agent's sub-state (`{ step: "thinking" }`) tells loop turns apart; a parallel step's regions count as the step.
  const state = typeof value === "object" && value !== null && typeof Object.values(value)[0] === "string" ? value : stepOf(value)
  return JSON.stringify([state, context.visits, ...(agents.length === 0 ? [] : [agents])])
}
// Inside a parallel or agent step the machine's value is an object under the step's name.
const stepOf = (value: unknown): string => (typeof value === "string" ? value : (Object.keys((value ?? {}) as object)[0] ?? ""))

const adjacencyOf = (machine: PipelineMachine, events: readonly AnyEventObject[], input: unknown) =>
  getAdjacencyMap(machine, { input: { input }, events: events as never, serializeState, limit: 10_000 })

/** Where each traversed snapshot can go in one event, by serialized snapshot. */
const edgesOf = (adjacency: ReturnType<typeof adjacencyOf>) =>
  Object.entries(adjacency).map(([key, node]) => ({
    key,
    value: stepOf((node.state as { value: unknown }).value),
    next: Object.values(node.transitions as Record<string, { state: unknown }>).map((transition) => serializeState(transition.state)),
  }))

/** Plain JSON only: no functions, class instances, non-finite numbers, symbols or bigints. */
const nonJsonPaths = (value: unknown, path: string): string[] => {
  if (value === null || typeof value === "string" || typeof value === "boolean" || value === undefined) return []
  if (typeof value === "number") return Number.isFinite(value) ? [] : [path]
  if (Array.isArray(value)) return value.flatMap((item, index) => nonJsonPaths(item, `${path}[${index}]`))
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).flatMap(([key, item]) => nonJsonPaths(item, path === "" ? key : `${path}.${key}`))
  }
  return [path]
}

describe.each(modules)("machines/%s", (file, module) => {
  const p = module.default
  const machine = p.machine
  const decisions = module.sampleDecisions ?? {}
  const input = module.samples[0]?.input

  it("exports its pipeline as the default export and by name, with samples", () => {
    expect(Object.entries(module).some(([name, value]) => name !== "default" && value === p)).toBe(true)
    expect(typeof p.run).toBe("function")
    expect(module.samples.length).toBeGreaterThan(0)
  })

  it("gives sample decisions reaching every route of every human step", () => {
    for (const step of humanSteps(machine)) expect(decisions[step]?.length ?? 0, `sampleDecisions.${step} in ${file}`).toBeGreaterThan(0)
  })

  it("reaches every step state, done and failed, and stopped when a transition targets it", () => {
    const adjacency = adjacencyOf(machine, eventsOf(machine, decisions), input)
    const reached = new Set(edgesOf(adjacency).map((node) => node.value))
    const targeted = Object.values(statesOf(machine)).flatMap((state) =>
      [
        ...(state.invoke?.onDone ?? []),
        ...(state.invoke?.onError ?? []),
        ...(state.onDone ?? []),
        ...Object.values(state.on ?? {}).flat(),
        ...Object.values(state.after ?? {}).flat(),
      ].map((transition) => transition.target),
    )
    const expected = [...p.stepNames, "done", "failed", ...(targeted.includes("stopped") ? ["stopped"] : [])]
    expect([...reached].sort()).toEqual([...new Set(expected)].sort())
  })

  it("gives every non-final state a way on, and a path to an end, without failures", () => {
    const events = eventsOf(machine, decisions).filter((event) => !event.type.startsWith("xstate.error."))
    const nodes = edgesOf(adjacencyOf(machine, events, input))
    const byKey = new Map(nodes.map((node) => [node.key, node]))
    for (const node of nodes.filter((candidate) => !finals.has(candidate.value))) {
      const ways = node.next.filter((key) => byKey.get(key)?.value !== node.value)
      expect(ways, `state ${node.key} has no transition to another state`).not.toHaveLength(0)
      const seen = new Set([node.key])
      const queue = [node.key]
      let ends = false
      while (queue.length > 0 && !ends) {
        for (const next of byKey.get(queue.shift() as string)?.next ?? []) {
          if (seen.has(next)) continue
          seen.add(next)
          queue.push(next)
          if (byKey.get(next)?.value === "done" || byKey.get(next)?.value === "stopped") ends = true
        }
      }
      expect(ends, `no path from ${node.key} to done or stopped`).toBe(true)
    }
  })

  it("has a shortest path from the first step to done", () => {
    const paths = getShortestPaths(machine, {
      input: { input },
      events: eventsOf(machine, decisions) as never,
      serializeState,
      toState: (snapshot) => (snapshot as unknown as { value: string }).value === "done",
    })
    expect(paths.length).toBeGreaterThan(0)
    expect(stepOf((paths[0]?.steps[0]?.state as unknown as { value: unknown } | undefined)?.value)).toBe(p.stepNames[0])
  })

  it("keeps its config as plain JSON (only XState's context and output mappers are functions)", () => {
    const config = machine.config as unknown as Record<string, unknown>
    expect(nonJsonPaths(config, "")).toEqual(["context", "output"])
    const { context: _context, output: _output, ...data } = config
    expect(JSON.parse(JSON.stringify(data))).toEqual(data)
  })

  describe("samples", () => {
    // Steps load their runtime with a dynamic import on first use: done under fake timers, a slow
    // load can outlast the whole simulated week below, and the sample looks like it never ended.
    beforeAll(async () => {
      await Promise.all([import("../src/run/execute-step.ts"), import("../src/run/agent/agent-run.ts"), import("../src/run/steps/run-parallel.ts")])
    })
    beforeEach(() => {
      vi.useFakeTimers()
    })
    afterEach(() => {
      vi.useRealTimers()
    })

    it.each(module.samples.map((sample) => [sample.name, sample] as const))("%s ends as documented", async (_name, sample) => {
      const events: RunEvent[] = []
      const pending = new Map(Object.entries(sample.decisions ?? {}).map(([step, value]) => [step, Array.isArray(value) ? [...value] : [value]]))
      let handle: ReturnType<typeof p.start> | undefined
      handle = p.start(sample.input, {
        models: module.scriptedModels(),
        journal: memoryJournal(),
        onEvent: (event) => {
          events.push(event)
          if (event.type !== "human.waiting") return
          const decision = pending.get(event.step)?.shift()
          // Without a decision the run waits; fake time then runs out the step's deadline.
          if (decision !== undefined) queueMicrotask(() => handle?.send(event.step, decision as never))
        },
      })
      let result: RunResult<Record<string, unknown>> | undefined
      void handle.result.then((settled) => (result = settled))
      for (let minutes = 0; result === undefined && minutes < 7 * 24 * 60; minutes += 10) await vi.advanceTimersByTimeAsync(10 * 60_000)
      expect(result).toMatchObject({ status: sample.expected.status, step: sample.expected.step })
      const routes = events.flatMap((event) => (event.type === "route.taken" ? [event.to] : []))
      expect([p.stepNames[0], ...routes.filter((state) => !finals.has(state))]).toEqual(sample.expected.path)
      expect([...pending.values()].flat(), "decisions the run never asked for").toEqual([])
    })
  })
})
