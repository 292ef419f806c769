import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { afterEach, describe, expect, it } from "vitest"
import { type Journal, memoryJournal, sqliteJournal } from "../../src/index.ts"
import { durableJournalContract, journalContract, started } from "./journal-contract.ts"

const folders: string[] = []
const closers: Array<() => void> = []
const temporaryFile = (name = "runs.db") => {
  const folder = mkdtempSync(join(tmpdir(), "switchboard-journal-"))
  folders.push(folder)
  return join(folder, name)
}
const openSqlite = (path: string) => {
  const journal = sqliteJournal({ path })
  closers.push(journal.close)
  return journal
}

afterEach(() => {
  for (const close of closers.splice(0)) close()
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true })
})

const contract: Array<[string, () => Journal]> = [
  ["memoryJournal", () => memoryJournal()],
  ["sqliteJournal (file)", () => openSqlite(temporaryFile())],
  ["sqliteJournal (:memory:)", () => openSqlite(":memory:")],
]

describe.each(contract)("Journal contract: %s", (_name, open) => journalContract(open))

describe("durable journal contract: sqliteJournal", () => {
  // A nested path: the journal creates the database's parent directories.
  durableJournalContract(() => {
    const path = temporaryFile(join("nested", "deeper", "runs.db"))
    return () => openSqlite(path)
  })
})

describe("sqliteJournal", () => {
  it("appends, snapshots and lists synchronously", () => {
    const journal = openSqlite(":memory:")
    expect(journal.append(started("r1"))).toBeUndefined()
    expect(journal.saveSnapshot("r1", { value: "classify" })).toBeUndefined()
    expect(journal.runs()).toEqual([expect.objectContaining({ runId: "r1", status: "running" })])
    expect(() => journal.append(started("r1"))).toThrow(/run r1: seq 0 is already written/)
  })

  it("is not loaded by importing the package", async () => {
    const script = 'await import("./src/index.ts"); process.stdout.write(JSON.stringify(process.moduleLoadList.filter((name) => name.includes("sqlite"))))'
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "--eval", script], { cwd: join(import.meta.dirname, "../..") })
    expect(JSON.parse(stdout)).toEqual([])
  })
})
