import type { ForkEdit, ForkPoint } from "../run/fork.ts"
import { type CommandOptions, continueCommand, type Output, requireDurable } from "./commands.ts"
import { parseInput, UsageError } from "./load-pipeline.ts"

/** Options of `switchboard fork`. */
export interface ForkCommandOptions extends CommandOptions {
  /** `step`, `step#visit` or a seq. */
  readonly at?: string
  /** `step=json` (or `step=@file.json`), each replacing the output of a step before the fork point. */
  readonly editOutput?: readonly string[]
  /** `step=json`, each replacing a human step's decision before the fork point. */
  readonly editDecision?: readonly string[]
  /** The new run's input, as JSON. */
  readonly editInput?: string
  readonly allowStructureChange?: boolean
}

/**
 * Reads `--at`: a seq (`12`), a step (`answer`, its first visit) or a step visit (`answer#2`).
 *
 * @example
 * parseForkPoint("draft#2") // { step: "draft", visit: 2 }
 */
export const parseForkPoint = (value: string | undefined): ForkPoint => {
  if (value === undefined || value === "") throw new UsageError("fork needs --at step[#visit] or --at SEQ")
  if (/^\d+$/.test(value)) return Number(value)
  const split = value.lastIndexOf("#")
  if (split < 0) return { step: value }
  const visit = value.slice(split + 1)
  if (!/^[1-9]\d*$/.test(visit)) throw new UsageError(`--at ${value}: the visit after "#" must be a whole number from 1`)
  return { step: value.slice(0, split), visit: Number(visit) }
}

const assignments = (values: readonly string[] | undefined, flag: string): Record<string, unknown> => {
  const edits: Record<string, unknown> = {}
  for (const value of values ?? []) {
    const split = value.indexOf("=")
    if (split <= 0) throw new UsageError(`${flag} ${value}: expected step=JSON`)
    edits[value.slice(0, split)] = parseInput(value.slice(split + 1), flag)
  }
  return edits
}

/**
 * `switchboard fork <file> <runId> --at step[#visit]`: starts a new run from a recorded one. What
 * the source journaled before the fork point is copied (not run again), the edits are applied,
 * and the steps from the fork point on run under the new id. A fork point not in the journal, an
 * edit of a step that never finished or one that fails the step's schema exits 2, nothing written.
 *
 * @example
 * process.exitCode = await forkCommand("support.ts", runId, { journal: "sqlite:runs.db", at: "answer" }, output)
 */
export const forkCommand = async (file: string, runId: string, options: ForkCommandOptions, output: Output): Promise<number> => {
  requireDurable("fork", options.journal)
  const at = parseForkPoint(options.at)
  const outputs = assignments(options.editOutput, "--edit-output")
  const decisions = assignments(options.editDecision, "--edit-decision")
  const edit: ForkEdit = {
    ...(options.editInput === undefined ? {} : { input: parseInput(options.editInput, "--edit-input") }),
    ...(Object.keys(outputs).length === 0 ? {} : { outputs }),
    ...(Object.keys(decisions).length === 0 ? {} : { decisions }),
  }
  const where = typeof at === "number" ? `seq ${at}` : `${at.step}#${at.visit ?? 1}`
  return continueCommand(file, options, output, {
    command: "fork",
    banner: (id) => `⑂ ${id} (run ${runId}) forks at ${where}`,
    refusal: "ForkError",
    continueRun: (pipeline, base) => pipeline.fork(runId, { ...base, at, edit }),
    after: (result) => `  new run ${result.runId}`,
  })
}
