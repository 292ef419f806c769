import { randomUUID } from "node:crypto"
import type { z } from "zod"
import type { PipelineMachine } from "../compile/compile-machine.ts"
import type { RunEvent } from "../contract/events.ts"
import type { JournalEntry } from "../contract/journal.ts"
import { CorruptJournalError, checkJournal } from "../contract/journal-check.ts"
import type { NormalizedEdge } from "../definition/edges.ts"
import type { PipelineGraph } from "../definition/graph.ts"
import { structureChanges, structureOf } from "../definition/structure.ts"
import type { RunResult } from "./result.ts"
import { ResumeError, type ResumeOptions, resumeRun } from "./resume.ts"

/**
 * Where a fork starts: a step visit (`{ step: "draft", visit: 2 }`, visit 1 by default; a branch or
 * map item by its path, `extract.vendor`, `items[3]`) or a seq of the source journal. Everything
 * the source journaled before it is copied; from it on, the fork runs.
 *
 * @example
 * const at: ForkPoint = { step: "answer" }
 */
export type ForkPoint = number | { readonly step: string; readonly visit?: number }

/**
 * What a fork changes in what it copies: the run's input, the output of a step that finished
 * before the fork point (checked against the step's `output` schema when it has one), or a human
 * step's decision (checked against its `decision` schema). Each by the step's latest visit.
 *
 * @example
 * const edit: ForkEdit = { outputs: { classify: { kind: "refund" } } }
 */
export interface ForkEdit {
  readonly input?: unknown
  readonly outputs?: Readonly<Record<string, unknown>>
  readonly decisions?: Readonly<Record<string, unknown>>
}

/** Options of `fork`: the source's journal (the fork is written there too), where to fork, what to edit. */
export type ForkOptions = ResumeOptions & {
  readonly at: ForkPoint
  readonly edit?: ForkEdit
  /** The new run's id (default: a new UUID). */
  readonly runId?: string
}

/**
 * A run cannot be forked as asked: the source is unknown, of another pipeline, corrupt or built
 * from a graph that has since changed (`changes`), the fork point is not in its journal, an edit
 * names a step that did not finish (or decide) before the fork point, or an edited value fails
 * the step's schema (`step` names it). The source run is never changed.
 *
 * @example
 * try { await p.fork(runId, { journal, at: { step: "answer" } }) } catch (error) { if (error instanceof ForkError) console.error(error.reason, error.step) }
 */
export class ForkError extends Error {
  override readonly name = "ForkError"
  readonly reason: Exclude<ResumeError["reason"], "finished"> | "unknown-point" | "not-run" | "invalid-edit"
  readonly runId: string
  readonly step: string | undefined
  readonly changes: readonly string[]
  constructor(reason: ForkError["reason"], runId: string, message: string, options: { readonly step?: string; readonly changes?: readonly string[] } = {}) {
    const changes = options.changes ?? []
    super(`cannot fork run ${runId}: ${message}${changes.length === 0 ? "" : `\n  - ${changes.join("\n  - ")}`}`)
    this.reason = reason
    this.runId = runId
    this.step = options.step
    this.changes = changes
  }
}

interface Target {
  readonly id: string
  readonly graph: PipelineGraph
  readonly machine: PipelineMachine
  readonly input: z.ZodType<unknown>
}

type Mutable = { -readonly [K in keyof JournalEntry]: JournalEntry[K] } & Record<string, unknown>

const stepOf = (entry: JournalEntry) =>
  "step" in entry && typeof entry.step === "string" && "visit" in entry ? { step: entry.step, visit: entry.visit as number } : undefined

// The index of the source's first entry the fork does not copy.
const cutOf = (runId: string, entries: readonly JournalEntry[], at: ForkPoint): number => {
  if (typeof at === "number") {
    if (!Number.isInteger(at) || at < 1 || at >= entries.length) {
      throw new ForkError("unknown-point", runId, `its journal has no seq ${at} to fork at (seqs 1 to ${entries.length - 1})`)
    }
    return at
  }
  const visit = at.visit ?? 1
  const index = entries.findIndex((entry) => stepOf(entry)?.step === at.step && stepOf(entry)?.visit === visit)
  if (index < 0) throw new ForkError("unknown-point", runId, `step "${at.step}" has no visit ${visit} in its journal`, { step: at.step })
  // The route into the visit is taken again by the fork.
  return entries[index - 1]?.type === "route.taken" ? index - 1 : index
}

const issuesOf = (error: z.ZodError): string => error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`).join("; ")

/**
 * Starts a new run from a recorded one: copies what the source journaled before `at` (those steps
 * do not run again), applies `edit`, journals the copy under a new run id with
 * `forkedFrom: { runId, seq }` on its `run.started`, then continues it like `resume`. Steps from
 * the fork point on run, with the new run's idempotency keys; a human step there asks again.
 * An edited output keeps the route the step took, unless the step chooses its route with a
 * function: then the route is chosen again, and must be the fork point's (fork right after the
 * step to follow a new route).
 *
 * @example
 * const forked = await forkRun(target, runId, { journal, at: { step: "answer" }, edit: { outputs: { classify: { kind: "bug" } } } })
 */
export const forkRun = async (target: Target, sourceId: string, options: ForkOptions): Promise<RunResult<never>> => {
  let entries: readonly JournalEntry[]
  try {
    entries = checkJournal(sourceId, await options.journal.read(sourceId))
  } catch (error) {
    if (!(error instanceof CorruptJournalError)) throw error
    throw Object.assign(new ForkError("corrupt-journal", sourceId, `its journal is corrupt: ${error.problem}`), { cause: error })
  }
  const started = entries[0]
  if (started?.type !== "run.started") throw new ForkError("unknown-run", sourceId, "the journal has no such run")
  if (started.pipeline !== target.id) throw new ForkError("other-pipeline", sourceId, `it belongs to pipeline "${started.pipeline}", not "${target.id}"`)
  if (started.structure !== undefined && options.allowStructureChange !== true) {
    const changes = structureChanges(started.structure, structureOf(target.graph))
    if (changes.length > 0) {
      throw new ForkError("structure-changed", sourceId, "the pipeline changed since the run started (pass allowStructureChange: true to fork anyway)", {
        changes,
      })
    }
  }
  const cut = cutOf(sourceId, entries, options.at)
  const copied = entries.slice(1, cut).filter((entry) => entry.type !== "run.finished") as Mutable[]
  const input = editedInput(target, sourceId, started.input, options.edit)
  for (const [step, output] of Object.entries(options.edit?.outputs ?? {})) editOutput(target, sourceId, copied, step, output, input)
  for (const [step, decision] of Object.entries(options.edit?.decisions ?? {})) editDecision(target, sourceId, copied, step, decision)

  const runId = options.runId ?? randomUUID()
  const first: RunEvent = {
    type: "run.started",
    runId,
    pipeline: target.id,
    input,
    ...(started.structure === undefined ? {} : { structure: started.structure }),
    forkedFrom: { runId: sourceId, seq: cut },
    // The fork's history begins with the source's: the copied events keep their times.
    at: started.at,
  }
  const written = [first, ...copied].map((entry, seq) => ({ ...entry, runId, seq }) as JournalEntry)
  if (options.journal.appendMany !== undefined) await options.journal.appendMany(written)
  else for (const entry of written) await options.journal.append(entry)
  try {
    return await resumeRun(target, runId, options)
  } catch (error) {
    if (error instanceof ResumeError)
      throw Object.assign(new ForkError(error.reason === "finished" ? "unknown-point" : error.reason, runId, error.message), { cause: error })
    throw error
  }
}

const editedInput = (target: Target, runId: string, recorded: unknown, edit: ForkEdit | undefined): unknown => {
  if (edit === undefined || !("input" in edit)) return recorded
  const checked = target.input.safeParse(edit.input)
  if (!checked.success) throw new ForkError("invalid-edit", runId, `the edited input does not match the pipeline's input: ${issuesOf(checked.error)}`)
  return checked.data
}

const editOutput = (target: Target, runId: string, copied: Mutable[], step: string, output: unknown, input: unknown): void => {
  const index = copied.findLastIndex((entry) => entry.type === "step.finished" && entry.step === step)
  const entry = copied[index]
  if (entry === undefined) throw new ForkError("not-run", runId, `step "${step}" did not finish before the fork point: there is no output to edit`, { step })
  const definition = target.graph.steps.get(step) as { readonly output?: z.ZodType<unknown> } | undefined
  let value = output
  if (definition?.output !== undefined) {
    const checked = definition.output.safeParse(output)
    if (!checked.success)
      throw new ForkError("invalid-edit", runId, `the edited output of "${step}" does not match its schema: ${issuesOf(checked.error)}`, { step })
    value = checked.data
  }
  copied[index] = { ...entry, output: value }
  const edge = target.graph.edges.get(step) as NormalizedEdge | undefined
  if (edge?.select === undefined) return
  // The step's route reads its output: choose it again, from the outputs journaled before it.
  const steps: Record<string, unknown> = {}
  for (const earlier of copied.slice(0, index)) if (earlier.type === "step.finished") steps[earlier.step as string] = earlier.output
  let next: string
  try {
    next = edge.select({ output: value, input, steps, visit: entry.visit as number })
  } catch (error) {
    throw new ForkError("invalid-edit", runId, `the route of "${step}" threw on the edited output: ${error instanceof Error ? error.message : String(error)}`, {
      step,
    })
  }
  if (next === entry.next) return
  const later = copied.slice(index + 1).some((other) => other.type === "step.started" && target.graph.steps.has(other.step as string))
  if (later) {
    throw new ForkError(
      "invalid-edit",
      runId,
      `with the edited output "${step}" routes to "${next}", not "${String(entry.next)}" as recorded, but steps after it are copied: fork at the step after "${step}"`,
      { step },
    )
  }
  copied[index] = { ...copied[index], next } as Mutable
}

const editDecision = (target: Target, runId: string, copied: Mutable[], step: string, decision: unknown): void => {
  const index = copied.findLastIndex((entry) => entry.type === "human.decided" && entry.step === step)
  const entry = copied[index]
  if (entry === undefined) throw new ForkError("not-run", runId, `step "${step}" was not decided before the fork point: there is no decision to edit`, { step })
  const definition = target.graph.steps.get(step)
  let value = decision
  if (definition?.kind === "human") {
    const checked = definition.decision.safeParse(decision)
    if (!checked.success)
      throw new ForkError("invalid-edit", runId, `the edited decision of "${step}" does not match its schema: ${issuesOf(checked.error)}`, { step })
    value = checked.data
  }
  copied[index] = { ...entry, decision: value }
}
