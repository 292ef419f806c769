// `switchboard check` and `switchboard paths`: what a pipeline can do, before anything runs.
import { check } from "../verify/check.ts"
import { coverage, paths } from "../verify/paths.ts"
import type { Output } from "./commands.ts"
import { loadPipeline } from "./load-pipeline.ts"

/** `switchboard check <file>`: prints every finding with its fix; exit 1 when there is an error. */
export const checkCommand = async (file: string, options: { readonly json?: boolean; readonly pipeline?: string }, output: Output): Promise<number> => {
  const { pipeline } = await loadPipeline(file, options.pipeline)
  const findings = check(pipeline)
  if (options.json === true) output.out(JSON.stringify(findings, null, 2))
  else if (findings.length === 0) output.out(`✓ ${pipeline.id}: no findings`)
  else
    for (const finding of findings)
      output.out(`${finding.severity === "error" ? "✗" : "!"} ${finding.code} (${finding.steps.join(", ")}): ${finding.message}\n  fix: ${finding.fix}`)
  return findings.some((finding) => finding.severity === "error") ? 1 : 0
}

/** `switchboard paths <file>`: lists the paths through the pipeline and the transitions they cover. */
export const pathsCommand = async (
  file: string,
  options: { readonly json?: boolean; readonly simple?: boolean; readonly pipeline?: string },
  output: Output,
): Promise<number> => {
  const { pipeline } = await loadPipeline(file, options.pipeline)
  const found = await paths(pipeline, { kind: options.simple === true ? "simple" : "shortest" })
  const covered = coverage(pipeline, found)
  if (options.json === true) {
    output.out(JSON.stringify({ paths: found, coverage: covered }, null, 2))
    return 0
  }
  for (const path of found) output.out(`${path.final.padEnd(7)} ${path.name}`)
  output.out(`${found.length} paths; transitions covered ${covered.covered}/${covered.total}`)
  for (const transition of covered.uncovered) output.out(`  not covered: ${transition}`)
  return 0
}
