// A Restate service process for the tests: `node service-process.ts <port> <directory> [stepMs] [chargeMs]`.
// Serves the test pipelines, mirrors their events into <directory>/runs.db, prints "listening" once
// it accepts connections. The tests kill it with SIGKILL and start it again on the same port.
import { appendFileSync } from "node:fs"
import { join } from "node:path"
import { restateEndpoint } from "../../src/engines/restate/index.ts"
import { type Journal, sqliteJournal } from "../../src/index.ts"
import { approval, chain, routed } from "./pipelines.ts"
import { chargePipeline } from "./service-pipelines.ts"

// Notes when each step.finished reaches the store: it is written only after Restate journaled the step.
const noteFinished = (store: Journal): Journal => ({
  append: (entry) => {
    const written = store.append(entry)
    if (entry.type === "step.finished") appendFileSync(join(directory, "finished.log"), `${entry.runId} ${entry.step} ${entry.visit} ${Date.now()}\n`)
    return written
  },
  read: (runId) => store.read(runId),
  saveSnapshot: (runId, snapshot) => store.saveSnapshot(runId, snapshot),
  loadSnapshot: (runId) => store.loadSnapshot(runId),
})

const [port = "0", directory = ".", stepMs = "50", chargeMs = "2000", humanTimeout = "4s"] = process.argv.slice(2)
const endpoint = restateEndpoint({
  pipelines: [chain, routed, approval(humanTimeout as "4s"), chargePipeline(directory, Number(stepMs), Number(chargeMs))],
  store: noteFinished(sqliteJournal({ path: join(directory, "runs.db") })),
  logger: () => {},
  // A crashed process's invocations are retried quickly, so a restarted one takes them over at once.
  workflowOptions: { retryPolicy: { initialInterval: 100, maxInterval: 500, exponentiationFactor: 2 } },
})
const listening = await endpoint.listen(Number(port))
process.stdout.write(`listening ${listening.port}\n`)
