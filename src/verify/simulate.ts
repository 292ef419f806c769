import { type AnyEventObject, type AnyStateMachine, createActor, fromPromise, type InspectionEvent } from "xstate"
import { agentToolsActor, agentTurnActor } from "../compile/agent-state.ts"
import { withSimulatedRunBudget } from "./agent-paths.ts"
import { type Chart, chartStateOf, readChart, type TransitionLabel, transitionKey } from "./chart.ts"
import { coverage, type PathOptions, type PathStep, type PipelinePath, paths, type VerifiablePipeline } from "./paths.ts"

/**
 * How one path ran: the final state it reached (or the state it got stuck in), whether that is the
 * path's final state with every event used, and the transitions it took.
 *
 * @example
 * const run: PathRun = await simulatePath(supportTriage, path)
 * if (!run.ok) throw new Error(`${run.path.name} ended in ${run.reached}: ${run.problem}`)
 */
export interface PathRun {
  readonly path: PipelinePath
  readonly reached: string
  readonly ok: boolean
  readonly transitions: readonly string[]
  /** Why `ok` is false. */
  readonly problem?: string
}

const labelOf = (type: string, state: string): TransitionLabel | undefined =>
  type === `xstate.done.actor.${state}`
    ? "done"
    : type === `xstate.error.actor.${state}`
      ? "error"
      : // An agent's approval state takes its step's decide event.
        type === `${state}.decide` || type === `${state.split(".")[0]}.decide`
        ? "decide"
        : // An agent's approval state expires by its step's expire event.
          type === `${state}.expire` || type === `${state.split(".")[0]}.expire` || type.startsWith(`xstate.after.${state}.timeout.`)
          ? "timeout"
          : undefined

interface Snapshot {
  /** The chart's name of the state (see `chartStateOf`). */
  readonly value: string
  /** The XState snapshot, so "already handled" compares by identity. */
  readonly raw: unknown
  readonly status: string
  readonly context: { readonly stoppedBy: { readonly step: string } | null }
}

const viewOf = (chart: Chart, snapshot: unknown): Snapshot => {
  const { value, status, context } = snapshot as { value: unknown; status: string; context: Snapshot["context"] }
  return { value: chartStateOf(chart, value), status, context, raw: snapshot }
}

/**
 * Runs one path on the real machine with plain XState: every llm, fn and tool step is replaced by an
 * actor that resolves with the path's output and chosen target (or fails), human decisions and
 * deadlines are sent as events. Nothing calls a model or runs step code.
 *
 * @example
 * const [first] = await paths(supportTriage, { fixtures })
 * expect(await simulatePath(supportTriage, first)).toMatchObject({ ok: true, reached: "done" })
 */
export const simulatePath = (pipeline: { readonly machine: AnyStateMachine }, path: PipelinePath): Promise<PathRun> => {
  const chart = readChart(pipeline.machine)
  const pending: PathStep[] = [...path.steps]
  const transitions: string[] = []
  const scripted = (step: string) =>
    fromPromise(async ({ input }: { input: { readonly branch?: string } }) => {
      // A parallel step's branches stand in silently: its join takes the path's move.
      if (input.branch !== undefined) return { output: undefined, next: "" }
      const move = pending[0]
      if (move?.step !== step || !move.event.type.startsWith("xstate.")) throw new Error(`the path has no move for step "${step}" here`)
      pending.shift()
      if (move.event.type.startsWith("xstate.error.")) throw (move.event as AnyEventObject & { error: unknown }).error
      return (move.event as AnyEventObject & { output: unknown }).output
    })
  const invoked = [...chart.states.values()]
    .filter((state) => state.kind === "invoked" && state.agent === undefined)
    .map((state) => [state.name, scripted(state.name)] as const)
  // Agent sub-charts share two actors; the invoke id (`<step>.thinking`) says which move is theirs.
  const byInvokeId = fromPromise(async ({ self }) => scriptedMove(self.id))
  const scriptedMove = async (step: string) => {
    const move = pending[0]
    if (move?.step !== step || !move.event.type.startsWith("xstate.")) throw new Error(`the path has no move for step "${step}" here`)
    pending.shift()
    if (move.event.type.startsWith("xstate.error.")) throw (move.event as AnyEventObject & { error: unknown }).error
    return (move.event as AnyEventObject & { output: unknown }).output
  }
  const agentActors =
    chart.states.size > 0 && [...chart.states.values()].some((state) => state.agent !== undefined)
      ? ([
          [agentTurnActor, byInvokeId],
          [agentToolsActor, byInvokeId],
        ] as const)
      : []
  let previous: Snapshot | undefined
  const inspect = (inspection: InspectionEvent) => {
    if (inspection.type !== "@xstate.snapshot" || inspection.actorRef !== actor) return
    const snapshot = viewOf(chart, inspection.snapshot)
    const label = previous === undefined ? undefined : labelOf(inspection.event.type, previous.value)
    if (previous !== undefined && label !== undefined) {
      const stopped = snapshot.context.stoppedBy !== previous.context.stoppedBy ? snapshot.context.stoppedBy?.step : undefined
      transitions.push(transitionKey(previous.value, label, snapshot.value, stopped))
    }
    previous = snapshot
  }
  // Under the same simulated run budget as paths() explored it with (verify/agent-paths.ts).
  const actor = createActor(withSimulatedRunBudget(pipeline.machine).provide({ actors: Object.fromEntries([...invoked, ...agentActors]) }), {
    input: { input: path.input },
    inspect,
  })
  return new Promise<PathRun>((resolve) => {
    let settled = false
    let handled: unknown
    const finish = (reached: string, problem?: string) => {
      if (settled) return
      settled = true
      subscription?.unsubscribe()
      actor.stop()
      const left = pending.length === 0 ? undefined : `${pending.length} move(s) of the path were never taken, from ${pending[0]?.step}`
      const why = problem ?? (reached !== path.final ? `expected to end in "${path.final}"` : left)
      resolve({ path, reached, ok: why === undefined, transitions, ...(why === undefined ? {} : { problem: why }) })
    }
    const onSnapshot = (snapshot: Snapshot) => {
      if (settled || snapshot.raw === handled) return
      handled = snapshot.raw
      if (snapshot.status !== "active") return finish(snapshot.value)
      if (chart.states.get(snapshot.value)?.kind !== "human") return
      const move = pending[0]
      if (move?.step !== snapshot.value) return finish(snapshot.value, `stuck waiting in "${snapshot.value}": the path has no decision for it here`)
      pending.shift()
      // Deliver after this snapshot is settled, as a person (or a timer) would.
      queueMicrotask(() => {
        const before = actor.getSnapshot()
        actor.send(move.event)
        // An invalid decision is ignored by the machine: the run would wait forever.
        if (actor.getSnapshot() === before) finish(snapshot.value, `the machine ignored ${JSON.stringify(move.event)} in "${snapshot.value}"`)
      })
    }
    let subscription: { unsubscribe(): void } | undefined
    subscription = actor.subscribe({
      next: (snapshot) => onSnapshot(viewOf(chart, snapshot)),
      error: (error) => finish(previous?.value ?? "", `the machine threw: ${error instanceof Error ? error.message : String(error)}`),
    })
    actor.start()
    onSnapshot(viewOf(chart, actor.getSnapshot()))
  })
}

/**
 * Finds the paths of a pipeline and runs each one on its machine (see {@link simulatePath}), then
 * reports the transition coverage of what actually ran.
 *
 * @example
 * const { runs, coverage } = await simulate(supportTriage, { fixtures: { review: ReviewDecision } })
 * expect(runs.filter((run) => !run.ok)).toEqual([])
 * expect(coverage.uncovered).toEqual([])
 */
export const simulate = async (pipeline: VerifiablePipeline, options: PathOptions = {}) => {
  const runs: PathRun[] = []
  for (const path of await paths(pipeline, options)) runs.push(await simulatePath(pipeline, path))
  return { runs, coverage: coverage(pipeline, runs) }
}
