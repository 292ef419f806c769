// `switchboard studio` as a user starts it: the real CLI in a child process.
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { cli, removeTemporaryFolders, root, startCli, temporaryFolder } from "../cli/run-cli.ts"

afterEach(removeTemporaryFolders)

/** Waits for `probe` to find something in the output, failing at the deadline instead of hanging. */
const waitFor = async (probe: () => RegExpMatchArray | null, what: string, timeoutMs = 20_000): Promise<RegExpMatchArray> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = probe()
    if (found !== null) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe("switchboard studio", () => {
  it("stops at start with one clear line and exit code 2 when the journal cannot be opened", { timeout: 30_000 }, async () => {
    const folder = temporaryFolder()
    writeFileSync(join(folder, "not-a-db"), "this is not a database, it is text ".repeat(100))
    const result = await cli("studio", "--journal", `sqlite:${join(folder, "not-a-db")}`, "--port", "0")
    expect(result.code).toBe(2)
    const lines = result.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^switchboard: --journal sqlite:.*not-a-db: cannot open the database/)
    expect(result.stdout).toBe("")
  })

  it("serves the runs of a journal with the pipelines of a file, prints its address, and exits 0 on SIGTERM", { timeout: 30_000 }, async () => {
    const folder = temporaryFolder()
    const journal = `sqlite:${join(folder, "runs.db")}`
    const file = join(root, "machines/support-triage.machine.ts")
    const ran = await cli("run", file, "--journal", journal, "--input", JSON.stringify({ ticket: "My invoice is wrong", customer: "c-1" }))
    expect(ran.code, ran.stderr).not.toBe(2)
    const studio = startCli(["studio", file, "--journal", journal, "--port", "0"])
    const [, url] = await waitFor(() => /switchboard studio: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(studio.stdout()), "the studio's address")
    const listed = (await (await fetch(`${url}api/runs`)).json()) as { total: number; runs: { pipeline: string }[] }
    expect(listed.total).toBe(1)
    const run = (await (await fetch(`${url}api/runs/${(listed.runs[0] as { runId?: string }).runId}`)).json()) as { chart?: string }
    expect(run.chart).toContain("<svg")
    const page = await (await fetch(url as string)).text()
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=/)
    studio.child.kill("SIGTERM")
    expect((await studio.finished).code).toBe(0)
  })
})
