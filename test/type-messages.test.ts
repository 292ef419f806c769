// Types that say what is wrong: a mistake a user makes is reported by tsc in words that name it,
// not as `never` or an unrelated overload. Each case is compiled by the project's tsc.
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const run = promisify(execFile)
const root = join(import.meta.dirname, "..")
let folder = ""

beforeAll(() => {
  mkdirSync(join(root, ".switchboard"), { recursive: true })
  folder = mkdtempSync(join(root, ".switchboard/type-messages-"))
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"], compilerOptions: { noUnusedLocals: false } }),
  )
  writeFileSync(
    join(folder, "duplicate.ts"),
    `import { z } from "zod"
import { fn, pipeline } from "../../src/index.ts"
export const twice = pipeline({ id: "twice", input: z.object({}) })
  .step("first", fn(() => 1))
  .step("first", fn(() => 2))
`,
  )
})

afterAll(() => {
  if (folder !== "") rmSync(folder, { recursive: true, force: true })
})

describe("type errors that name the mistake", () => {
  it("a duplicate step name", async () => {
    const output = await run(join(root, "node_modules/.bin/tsc"), ["-p", folder], { cwd: folder }).then(
      ({ stdout }) => stdout,
      (error: Error & { stdout?: string }) => error.stdout ?? error.message,
    )
    expect(output).toContain(
      `duplicate.ts(5,9): error TS2345: Argument of type '"first"' is not assignable to parameter of type '"step \\"first\\" is already defined: give each step its own name"'.`,
    )
    expect(output.trim().split("\\n")).toHaveLength(1)
  }, 120_000)
})
