import { type PathOptions, type PipelinePath, paths, type VerifiablePipeline } from "./paths.ts"
import { type PathRun, simulatePath } from "./simulate.ts"

/**
 * One generated path test: its name (the path, e.g. `classify → review → answer → done`), the path,
 * and `run()`, which drives the pipeline's machine along it without models or step code.
 */
export interface PathCase {
  readonly name: string
  readonly final: PipelinePath["final"]
  readonly path: PipelinePath
  run(): Promise<PathRun>
}

/**
 * Turns every path of a pipeline into a test case for `it.each`: each case runs the path on the
 * machine and resolves with `{ ok, reached, problem }`. Give human steps candidate decisions in
 * `fixtures` (a zod schema works: decisions are generated from it).
 *
 * @example
 * import { pathCases } from "switchboard/testing"
 *
 * const cases = await pathCases(supportTriage, { fixtures: { review: ReviewDecision } })
 * it.each(cases)("$name", async ({ run }) => {
 *   expect(await run()).toMatchObject({ ok: true })
 * })
 */
export const pathCases = async (pipeline: VerifiablePipeline, options: PathOptions = {}): Promise<PathCase[]> =>
  (await paths(pipeline, options)).map((path) => ({ name: path.name, final: path.final, path, run: () => simulatePath(pipeline, path) }))
