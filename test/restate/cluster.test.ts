import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type RestateServer, restateClient, startRestateServer } from "../../src/engines/restate/index.ts"
import { chargePipeline, finishedIn, linesOf, rerunsOfFinished, startsIn } from "./service-pipelines.ts"
import { killServices, skipReason, startService } from "./support.ts"

const reason = skipReason()
let server: RestateServer | undefined
let directory: string | undefined
afterEach(async () => {
  killServices()
  await server?.stop()
  server = undefined
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
})

describe.skipIf(reason !== undefined)(`a three-node Restate cluster${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  it("loses a Restate node (kill -9) mid-run: every run finishes, finished steps never run again, each charge once", async () => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-restate-node-"))
    server = await startRestateServer({ nodes: 3, replication: 2 })
    const service = await startService(directory, { chargeMs: 2000 })
    await server.register(service.url)
    const client = restateClient({ ingress: server.ingressUrl })
    const pipeline = chargePipeline(directory, 50, 2000)
    const runIds = await Promise.all([1, 2, 3, 4, 5].map((amount) => client.start(pipeline, { amount })))
    const inCharge = () =>
      new Set(
        startsIn(directory as string)
          .filter((start) => start.step === "charge")
          .map((start) => start.runId),
      ).size
    await expect.poll(inCharge, { timeout: 20_000, interval: 20 }).toBe(runIds.length)
    // The third node: not the one this test talks to, but it leads some partitions and holds replicas.
    await server.nodes[2]?.kill()
    const results = await Promise.all(runIds.map((runId) => client.result(pipeline, runId)))
    expect(results.map((result) => result.status)).toEqual(runIds.map(() => "done"))
    // A partition whose leader died moves to another node and may run its step in flight again
    // (same idempotency key); a step Restate had journaled as finished never runs again.
    expect(rerunsOfFinished(directory)).toEqual([])
    const finished = finishedIn(directory)
    for (const runId of runIds) for (const step of ["reserve", "price", "charge", "receipt", "notify"]) expect(finished.has(`${runId} ${step} 1`)).toBe(true)
    expect(linesOf(join(directory, "ledger.log")).sort()).toEqual(runIds.map((runId, index) => `${runId}:charge:1 ${index + 1}`).sort())
  }, 60_000)
})
