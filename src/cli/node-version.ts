// The one Node version switchboard needs is package.json's `engines.node`; the CLI checks it
// before anything else, so an older Node gets one clear line instead of a failure deep inside.
import { readFileSync } from "node:fs"

const parse = (version: string): readonly number[] | undefined => {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim())
  return match === null ? undefined : match.slice(1, 4).map(Number)
}

/**
 * Why this Node cannot run switchboard, or `undefined` when it can. `required` is an `engines`
 * range of the form `>=X.Y.Z`; any other form is not checked.
 *
 * @example
 * nodeVersionProblem("20.19.0", ">=22.13.0") // "switchboard needs Node >= 22.13.0 (package.json engines); this is Node 20.19.0. …"
 * nodeVersionProblem("24.1.0", ">=22.13.0") // undefined
 */
export const nodeVersionProblem = (current: string, required: string): string | undefined => {
  const minimum = /^>=\s*(\S+)$/.exec(required.trim())?.[1]
  const wanted = minimum === undefined ? undefined : parse(minimum)
  const have = parse(current)
  if (wanted === undefined || have === undefined) return undefined
  for (let index = 0; index < 3; index++) {
    const difference = (have[index] ?? 0) - (wanted[index] ?? 0)
    if (difference > 0) return undefined
    if (difference < 0) {
      return `switchboard needs Node ${required.trim()} (package.json engines); this is Node ${current}. Install a newer Node (e.g. nvm install 24) and run it again.`
    }
  }
  return undefined
}

/**
 * The `engines.node` range of the installed package (read beside the CLI: the same relative place
 * from src/cli and dist/cli), or `undefined` when it cannot be read.
 *
 * @example
 * requiredNode() // ">=22.13.0"
 */
export const requiredNode = (): string | undefined => {
  try {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { engines?: { node?: unknown } }
    return typeof manifest.engines?.node === "string" ? manifest.engines.node : undefined
  } catch {
    return undefined
  }
}
