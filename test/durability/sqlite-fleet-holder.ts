// Holds claims on a SQLite journal until killed, for the claim tests.
// Usage: node sqlite-fleet-holder.ts <database> <run id>...; prints one line, `{ "<run id>": claimed }`.
import { sqliteJournal } from "../../src/index.ts"

const [path = "", ...runIds] = process.argv.slice(2)
const journal = sqliteJournal({ path })
const claimed: Record<string, boolean> = {}
for (const runId of runIds) claimed[runId] = (await journal.claim(runId)) !== undefined
process.stdout.write(`${JSON.stringify(claimed)}\n`)
// Stays alive, holding its claims, until the test kills it.
setInterval(() => {}, 60_000)
