// `show`, `resume` and `decide` on a journal whose rows were changed: one line naming the run and
// the seq, exit 2, no stack, nothing written.
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterEach, describe, expect, it } from "vitest"
import { sqliteJournal } from "../../src/index.ts"
import { greeting, scriptedModels } from "./fixtures/greeting.pipeline.ts"
import { cli, removeTemporaryFolders, root, temporaryFolder } from "./run-cli.ts"

const file = join(root, "test/cli/fixtures/greeting.pipeline.ts")

afterEach(removeTemporaryFolders)

/** A SQLite file with a run paused on `review`, then changed by `update` (with :seq the row of `type`). */
const corruptedRun = async (type: string, update: string): Promise<{ readonly database: string; readonly seq: number }> => {
  const database = join(temporaryFolder(), "runs.db")
  const journal = sqliteJournal({ path: database })
  try {
    const paused = await greeting.run({ name: "Ada", review: true }, { journal, runId: "c1", models: scriptedModels() })
    expect(paused.status).toBe("awaiting-human")
  } finally {
    journal.close()
  }
  const connection = new DatabaseSync(database)
  try {
    const seq = Number(connection.prepare("SELECT max(seq) AS seq FROM journal WHERE run_id = 'c1' AND type = ?").get(type)?.seq)
    connection.prepare(update).run({ seq })
    return { database, seq }
  } finally {
    connection.close()
  }
}

const commands = (database: string): ReadonlyArray<readonly [string, readonly string[]]> => [
  ["show", ["show", "c1", "--journal", `sqlite:${database}`]],
  ["show --json", ["show", "c1", "--journal", `sqlite:${database}`, "--json"]],
  ["resume", ["resume", file, "c1", "--pipeline", "greeting", "--journal", `sqlite:${database}`]],
  ["decide", ["decide", file, "c1", "review", "--pipeline", "greeting", "--decision", '{"approve":true}', "--journal", `sqlite:${database}`]],
]

describe("switchboard show, resume and decide on a corrupt journal", () => {
  it.each<[string, string, string, RegExp]>([
    ["a torn last row", "human.waiting", "UPDATE journal SET data = substr(data, 1, length(data) - 4) WHERE run_id = 'c1' AND seq = :seq", /row is not JSON/],
    ["a row that is null", "step.finished", "UPDATE journal SET data = 'null' WHERE run_id = 'c1' AND seq = :seq", /row holds null/],
    ["a row that is a string", "step.finished", `UPDATE journal SET data = '"Hello"' WHERE run_id = 'c1' AND seq = :seq`, /row holds a string/],
    [
      "a row of an unknown type",
      "step.finished",
      "UPDATE journal SET type = 'step.vanished' WHERE run_id = 'c1' AND seq = :seq",
      /"step\.vanished" is not a known/,
    ],
    [
      "a step.finished without its output",
      "step.finished",
      "UPDATE journal SET data = json_remove(data, '$.output') WHERE run_id = 'c1' AND seq = :seq",
      /step\.finished has no "output"/,
    ],
  ])(
    "names %s in one line and exits 2",
    async (_name, type, update, problem) => {
      const { database, seq } = await corruptedRun(type, update)
      for (const [command, args] of commands(database)) {
        const { code, stderr } = await cli(...args)
        const lines = stderr.trim().split("\n")
        expect({ command, code, lines: lines.length }).toEqual({ command, code: 2, lines: 1 })
        expect(lines[0]).toMatch(new RegExp(`^switchboard: .*run c1.* corrupt at seq ${seq}: `))
        expect(lines[0]).toMatch(problem)
        expect(stderr).not.toMatch(/unexpected error|SyntaxError|TypeError|\n\s+at /)
      }
      // Nothing was decided or resumed: the run still waits where it did.
      const connection = new DatabaseSync(database)
      try {
        expect(connection.prepare("SELECT count(*) AS rows FROM journal WHERE run_id = 'c1' AND type = 'human.decided'").get()?.rows).toBe(0)
        expect(connection.prepare("SELECT status FROM runs WHERE run_id = 'c1'").get()?.status).toBe("awaiting-human")
      } finally {
        connection.close()
      }
    },
    60_000,
  )
})
