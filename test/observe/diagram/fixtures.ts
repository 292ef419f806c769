// A small pipeline with every kind of transition, the machines of machines/, and runs of them.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { z } from "zod"
import {
  fn,
  human,
  type Journal,
  type JournalEntry,
  type Models,
  maxVisits,
  memoryJournal,
  type Pipeline,
  type PipelineStructure,
  pipeline,
  route,
} from "../../../src/index.ts"

/** draft ⇄ critique (at most 2 drafts, then publish), a human review with a deadline, an error edge. */
export const essay = pipeline({ id: "essay", input: z.object({ topic: z.string() }) })
  .step(
    "draft",
    fn(({ input, visit }) => `${input.topic} v${visit}`),
  )
  .step(
    "critique",
    fn(({ steps }) => ({ good: String(steps.draft).endsWith("v9") })),
  )
  .step("review", human({ decision: z.object({ ok: z.boolean() }), timeout: "1h" }))
  .step(
    "publish",
    fn(({ steps }) => String(steps.draft)),
  )
  .edges({
    draft: { next: "critique", stop: maxVisits(2), stopped: "review" },
    critique: { next: route(["draft", "review"], ({ output }) => (output.good ? "review" : "draft")), error: "review" },
    review: { next: route(["publish", "draft"], ({ output }) => (output.ok ? "publish" : "draft")), timeout: "publish" },
    publish: "done",
  })

/** The graph as data, as the runtime journals it with `run.started`. */
// biome-ignore lint/suspicious/noExplicitAny: any pipeline, whatever its input and steps
export const structureOf = async (subject: Pipeline<any, any>, input: unknown): Promise<PipelineStructure> => {
  const journal = memoryJournal()
  const runId = await subject.submit(input, { journal })
  const started = (await journal.read(runId))[0]
  if (started?.type !== "run.started" || started.structure === undefined) throw new Error("run.started has no structure")
  return started.structure
}

/** Runs `essay` through draft, critique, draft, the stop rule, the review and publish. */
export const essayRun = async (journal: Journal = memoryJournal()): Promise<readonly JournalEntry[]> => {
  const paused = await essay.run({ topic: "owls" }, { journal, runId: "essay-run" })
  if (paused.status !== "awaiting-human") throw new Error(`expected a pause, got ${paused.status}`)
  const result = await essay.decide(paused.runId, "review", { ok: true }, { journal })
  if (result.status !== "done") throw new Error(`expected done, got ${result.status}`)
  return journal.read(paused.runId)
}

interface Sample {
  readonly input: unknown
  readonly decisions?: Readonly<Record<string, unknown>>
}
/** A module of machines/. */
export interface MachineModule {
  readonly default: Pipeline<unknown, Record<string, unknown>>
  readonly samples: readonly Sample[]
  readonly scriptedModels: () => Models
}

const directory = fileURLToPath(new URL("../../../machines/", import.meta.url))
/** Every `machines/*.machine.ts`, by file name. */
export const machineFiles = readdirSync(directory)
  .filter((file) => file.endsWith(".machine.ts"))
  .sort()
export const machinePath = (file: string) => join(directory, file)
export const loadMachine = async (file: string) => (await import(pathToFileURL(machinePath(file)).href)) as MachineModule

/** Runs a machine's first sample with human decisions (deciding as the sample says) and returns its journal. */
export const sampleRun = async (machine: MachineModule, journal: Journal = memoryJournal()): Promise<readonly JournalEntry[]> => {
  const sample = machine.samples.find((candidate) => candidate.decisions !== undefined) ?? (machine.samples[0] as Sample)
  const models = machine.scriptedModels()
  const queues = new Map(Object.entries(sample.decisions ?? {}).map(([step, value]) => [step, Array.isArray(value) ? [...value] : [value]]))
  let result = await machine.default.run(sample.input, { models, journal })
  while (result.status === "awaiting-human") {
    // A wait inside fan-out is decided by its address (`review.legal`), one at the top by its step.
    const addresses = [...(result.pending ?? []).map((wait) => wait.path), result.step]
    const address = addresses.find((each) => (queues.get(each)?.length ?? 0) > 0)
    const decision = address === undefined ? undefined : queues.get(address)?.shift()
    if (address === undefined || decision === undefined) break
    result = await machine.default.decide(result.runId, address, decision as never, { models, journal })
  }
  return journal.read(result.runId)
}
