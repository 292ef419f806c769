// A nested pipeline's own human steps: its machine waits in the step's state as a top-level run
// would, and the parent run lists the wait under the child's path (`orders[1].approve`). A
// resumed run hands the child its journaled decision or expiry; a deadline that passed meanwhile
// expires it now. The child counts as busy while it is in a step that runs code, so a parent whose
// other work waits for people pauses only once the child waits too (or ended).
import type { AnyActorRef, AnyMachineSnapshot } from "xstate"
import { machineEvents, type RunContext } from "../compile/run-context.ts"
import { pendingApproval, topState } from "../compile/state-value.ts"
import { visitKey } from "../contract/keys.ts"
import { noThread } from "../contract/thread.ts"
import type { AnyStep } from "../definition/steps/step.ts"
import { approvalPrompt, checkApproval, checkSchemaDecision, lateDecision } from "./decisions.ts"
import { eventKey } from "./replay.ts"
import type { RunServices } from "./services.ts"

// States in which the child runs no code of its own: waiting, fanning out (its units count themselves), or ended.
const idleKinds = new Set(["human", "map", "parallel", "pipeline"])

/**
 * The deadlines a resumed run journaled for the child's waits, by the child's own `step#visit`.
 *
 * @example
 * childDeadlines(services, "orders[1].") // { "approve#1": 1767225600000 }
 */
export const childDeadlines = (services: RunServices, prefix: string): Record<string, number> =>
  Object.fromEntries(
    [...(services.replay?.deadlines ?? new Map<string, number>())]
      .filter(([key]) => key.startsWith(prefix) && key.split("#").length === 2)
      .map(([key, deadline]) => [key.slice(prefix.length), deadline]),
  )

/**
 * Follows a child pipeline's snapshots: meets its human steps (journaled under `prefix`) and keeps
 * the parent's busy count. Returns the snapshot listener and a function that closes open waits.
 *
 * @example
 * const follow = followChild(child.definitions, prefix, services, actor)
 * actor.subscribe({ next: follow.next })
 */
export const followChild = (definitions: ReadonlyMap<string, AnyStep>, prefix: string, services: RunServices, actor: Pick<AnyActorRef, "send">) => {
  const busy = services.waits?.busy()
  let arrived: string | undefined
  let close: () => void = () => {}
  const next = (snapshot: AnyMachineSnapshot) => {
    const context = snapshot.context as RunContext
    const step = topState(snapshot.value)
    const definition = definitions.get(step)
    const approval = definition?.kind === "agent" && snapshot.status === "active" ? pendingApproval(snapshot.value, context) : undefined
    if (snapshot.status !== "active" || idleKinds.has(definition?.kind ?? "") || approval !== undefined) busy?.release()
    else busy?.hold()
    if (snapshot.status !== "active") return end()
    const visit = context.visits[step] ?? 1
    if (approval !== undefined) {
      if (arrived === approval.key) return
      close()
      arrived = approval.key
      return arriveAtApproval(step, visit, approval, context)
    }
    const key = visitKey(step, visit)
    if (definition?.kind !== "human" || context.status !== "awaiting-human" || arrived === key) {
      if (definition?.kind !== "human") {
        close()
        arrived = undefined
      }
      return
    }
    arrived = key
    arrive(definition, step, visit, context)
  }
  // An agent of the child asks a person about a tool call: the wait is the agent's path; the
  // journal numbers its pauses within the visit (`path#visit#n`) as at the top level.
  const arriveAtApproval = (step: string, visit: number, approval: NonNullable<ReturnType<typeof pendingApproval>>, context: RunContext) => {
    const path = `${prefix}${step}`
    const key = `${prefix}${approval.key}`
    const deadline = context.waiting?.deadline ?? null
    const replay = services.replay
    // A replayed pause is not journaled again: the counts of what the journal holds must not wait for it.
    const replayed = (types: ReadonlyArray<"human.waiting" | "human.decided">) => {
      for (const type of types) {
        if (type === "human.waiting" && replay?.waits?.has(key) !== true) continue
        const counted = eventKey({ type, runId: services.runId, step: path, visit, decision: null, at: 0 })
        replay?.journaled.set(counted, Math.max(0, (replay.journaled.get(counted) ?? 0) - 1))
      }
    }
    if (replay?.approvals?.has(key) === true) {
      replayed(["human.waiting", "human.decided"])
      return actor.send({ type: machineEvents.decide(step), decision: replay.approvals.get(key) })
    }
    if (replay?.expiredApprovals?.has(key) === true || (deadline !== null && deadline <= Date.now())) {
      replayed(["human.waiting"])
      return actor.send({ type: machineEvents.expire(step) })
    }
    wait(step, path, visit, approvalPrompt(path, approval.call), deadline, (decision) => checkApproval(path, path, "active", decision))
  }
  const arrive = (definition: Extract<AnyStep, { kind: "human" }>, step: string, visit: number, context: RunContext) => {
    const path = `${prefix}${step}`
    const journaledKey = visitKey(path, visit)
    const deadline = context.waiting?.deadline ?? null
    if (services.replay?.decisions.has(journaledKey) === true) {
      return actor.send({ type: machineEvents.decide(step), decision: services.replay.decisions.get(journaledKey) })
    }
    if (services.replay?.expired.has(journaledKey) === true || (deadline !== null && deadline <= Date.now())) {
      return actor.send({ type: machineEvents.expire(step) })
    }
    wait(step, path, visit, promptOf(definition, path, visit, context, services), deadline, (decision) =>
      checkSchemaDecision(path, definition.decision, decision, deadline),
    )
  }
  // Journals the wait and opens it on the run's board; a decision is sent to the child as its own would be.
  const wait = (step: string, path: string, visit: number, prompt: string | undefined, deadline: number | null, check: (decision: unknown) => unknown) => {
    // Open before it is journaled: an observer that hears of the wait can decide it at once (the
    // journal's writer still writes the wait before the decision).
    const closeWait =
      services.waits?.open({
        path,
        visit,
        prompt,
        deadline,
        check: (decision) => {
          if (deadline !== null && deadline <= Date.now()) throw lateDecision(path, deadline)
          return check(decision)
        },
        deliver: (decision) => {
          close()
          actor.send({ type: machineEvents.decide(step), decision })
        },
      }) ?? (() => {})
    // The child's own deadline timer takes its timeout route: the wait then ends expired.
    close = () => {
      close = () => {}
      closeWait(deadline !== null && deadline <= Date.now() ? deadline : undefined)
    }
    // A wait the journal refused: the run stops with the JournalError (journal-writer), nothing to do here.
    void Promise.resolve(
      services.record({
        type: "human.waiting",
        runId: services.runId,
        step: path,
        visit,
        ...(prompt === undefined ? {} : { prompt }),
        ...(deadline === null ? {} : { deadline }),
        at: Date.now(),
      }),
    ).catch(() => {})
  }
  const end = () => {
    close()
    busy?.release()
  }
  return { next, end }
}

// A prompt that throws must not lose the pause: the person sees what went wrong instead.
const promptOf = (
  definition: Extract<AnyStep, { kind: "human" }>,
  path: string,
  visit: number,
  context: RunContext,
  services: RunServices,
): string | undefined => {
  if (definition.prompt === undefined) return undefined
  try {
    const prompt = definition.prompt as (context: unknown) => string
    return prompt({
      input: context.input,
      steps: context.steps,
      visit,
      runId: services.runId,
      signal: AbortSignal.abort(),
      thread: services.thread?.() ?? noThread,
    })
  } catch (error) {
    return `(prompt of "${path}" threw: ${error instanceof Error ? error.message : String(error)})`
  }
}
