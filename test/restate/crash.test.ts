import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type RestateServer, restateClient, startRestateServer } from "../../src/engines/restate/index.ts"
import { type JournalEntry, sqliteJournal } from "../../src/index.ts"
import { approval } from "./pipelines.ts"
import { type LoopbackProxy, loopbackProxy } from "./proxy.ts"
import { chargePipeline, finishedIn, linesOf, rerunsOfFinished, startsIn } from "./service-pipelines.ts"
import { killServices, type ServiceProcess, skipReason, sleep, startService } from "./support.ts"

const reason = skipReason()
const steps = ["reserve", "price", "charge", "receipt", "notify"]

let server: RestateServer | undefined
let directory: string | undefined
let proxy: LoopbackProxy | undefined
afterEach(async () => {
  killServices()
  await proxy?.close()
  proxy = undefined
  await server?.stop()
  server = undefined
  if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
})

/**
 * Starts `count` five-step runs, waits until every one is inside its slow charge step (so no step
 * is between finishing and being journaled), kills the service process with SIGKILL, starts it
 * again, and checks what a crash must not change.
 */
const crashMidStep = async (nodes: number) => {
  directory = mkdtempSync(join(tmpdir(), "switchboard-restate-crash-"))
  server = await startRestateServer({ nodes })
  const service: ServiceProcess = await startService(directory, { stepMs: 50, chargeMs: 2000 })
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
  const killedAt = Date.now()
  await service.kill()
  await sleep(300)
  await service.restart()

  const results = await Promise.all(runIds.map((runId) => client.result(pipeline, runId)))
  // 0 lost runs: every run finished, with the effect of its own charge.
  for (const [index, result] of results.entries()) {
    expect(result).toMatchObject({ status: "done", step: "notify", steps: { charge: { charged: index + 1, key: `${runIds[index]}:charge:1` } } })
  }
  // No step visit started again once Restate had journaled it as finished.
  expect(rerunsOfFinished(directory)).toEqual([])
  const started = startsIn(directory)
  const finished = finishedIn(directory)
  // Every step of every run finished (and was projected) exactly once.
  for (const runId of runIds) expect(steps.map((step) => finished.has(`${runId} ${step} 1`))).toEqual(steps.map(() => true))
  // A charge in flight when the process died ran again, with the same idempotency key. (On a
  // loaded machine an early run may have finished its charge before the last one began.)
  const inFlight = runIds.filter((runId) => (finished.get(`${runId} charge 1`) ?? 0) > killedAt)
  expect(inFlight.length).toBeGreaterThan(0)
  for (const runId of inFlight) expect(started.filter((start) => start.runId === runId && start.step === "charge").length).toBeGreaterThanOrEqual(2)
  // Load on this machine can move a partition's leadership too, re-running a step in flight; never more than that.
  expect(started.length).toBeLessThanOrEqual(runIds.length * steps.length + runIds.length * 2)
  // The charge's effect happened once per run: the re-run was handed the same idempotency key.
  expect(linesOf(join(directory, "ledger.log")).sort()).toEqual(runIds.map((runId, index) => `${runId}:charge:1 ${index + 1}`).sort())
  // The projection holds every event once, in order, for `switchboard show`.
  const store = sqliteJournal({ path: join(directory, "runs.db") })
  for (const runId of runIds) {
    const entries: readonly JournalEntry[] = await store.read(runId)
    expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index))
    expect(entries.filter((entry) => entry.type === "step.finished").map((entry) => "step" in entry && entry.step)).toEqual(steps)
    expect(entries.filter((entry) => entry.type === "run.finished")).toHaveLength(1)
    expect(entries.filter((entry) => entry.type === "tool.called")).toHaveLength(1)
  }
  store.close()
}

describe.skipIf(reason !== undefined)(`kill -9 of a Restate service process${reason === undefined ? "" : ` (skipped: ${reason})`}`, () => {
  it("on one server: no run lost, no finished step re-run, the charge applied once", async () => {
    await crashMidStep(1)
  }, 60_000)

  it("on a three-node loopback cluster (replication 2): the same invariants", async () => {
    await crashMidStep(3)
  }, 60_000)

  it("with two service processes behind one address, the survivor finishes the killed one's runs without any restart", async () => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-restate-fleet-"))
    server = await startRestateServer()
    const services = [await startService(directory, { chargeMs: 2000 }), await startService(directory, { chargeMs: 2000 })]
    const fleet = await loopbackProxy(() => services.map((service) => service.port))
    proxy = fleet
    await server.register(fleet.url)
    const client = restateClient({ ingress: server.ingressUrl })
    const pipeline = chargePipeline(directory, 50, 2000)
    const runIds = await Promise.all([1, 2, 3, 4, 5, 6].map((amount) => client.start(pipeline, { amount })))
    const inCharge = () =>
      new Set(
        startsIn(directory as string)
          .filter((start) => start.step === "charge")
          .map((start) => start.runId),
      ).size
    await expect.poll(inCharge, { timeout: 20_000, interval: 20 }).toBe(runIds.length)
    directory = directory as string
    // Kill the process executing the most charges: its runs are in flight there.
    const charges = startsIn(directory)
      .filter((start) => start.step === "charge")
      .map((start) => start.pid)
    const victim = services.reduce((most, service) =>
      charges.filter((pid) => pid === service.pid).length > charges.filter((pid) => pid === most.pid).length ? service : most,
    )
    const victimPid = victim.pid
    await victim.kill()
    const results = await Promise.all(runIds.map((runId) => client.result(pipeline, runId)))
    expect(results.map((result) => result.status)).toEqual(runIds.map(() => "done"))
    expect(linesOf(join(directory, "ledger.log")).sort()).toEqual(runIds.map((runId, index) => `${runId}:charge:1 ${index + 1}`).sort())
    expect(rerunsOfFinished(directory)).toEqual([])
    const started = startsIn(directory)
    // The killed process had charges in flight; the survivor ran them again and finished those runs.
    const takenOver = started.filter((start) => start.step === "charge" && start.pid === victimPid).map((start) => start.runId)
    expect(takenOver.length).toBeGreaterThan(0)
    for (const runId of takenOver) expect(started.some((start) => start.runId === runId && start.step === "notify" && start.pid !== victimPid)).toBe(true)
  }, 60_000)

  it("a human deadline fires while no service process runs, and the run ends after a restart", async () => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-restate-human-"))
    server = await startRestateServer()
    const service = await startService(directory, { humanTimeout: "3s" })
    await server.register(service.url)
    const client = restateClient({ ingress: server.ingressUrl })
    const pipeline = approval("3s")
    const runId = await client.start(pipeline, { amount: 9 })
    await expect.poll(() => client.waiting(pipeline, runId), { timeout: 10_000 }).toEqual({ step: "review", visit: 1 })
    await service.kill()
    await sleep(3_500)
    await service.restart()
    expect(await client.result(pipeline, runId)).toMatchObject({ status: "done", step: "escalate" })
    const store = sqliteJournal({ path: join(directory, "runs.db") })
    const types = (await store.read(runId)).map((entry) => entry.type)
    expect(types.filter((type) => type === "human.expired")).toHaveLength(1)
    expect(types.at(-1)).toBe("run.finished")
    store.close()
  }, 60_000)
})
