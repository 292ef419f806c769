// Decides `work.legal`, says so on stdout, then `work.tech`: the test kills it with SIGKILL at some moment in between or during.
import { sqliteJournal } from "../../src/index.ts"
import { reviews } from "./decide-crash-pipeline.ts"

const [database, logs, runId] = process.argv.slice(2) as [string, string, string]
const journal = sqliteJournal({ path: database })
const pipeline = reviews(logs)
process.stdout.write("ready\n")
await pipeline.decide(runId, "work.legal", { approve: true }, { journal })
process.stdout.write("legal\n")
await pipeline.decide(runId, "work.tech", { approve: false }, { journal })
process.stdout.write("tech\n")
journal.close()
