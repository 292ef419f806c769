import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { type SqliteJournal, sqliteJournal } from "../../src/index.ts"
import { type RunningStudio, serveStudio } from "../../src/studio/serve-studio.ts"
import { flakiness, flaky, refunds } from "./fixtures.ts"

// biome-ignore lint/suspicious/noExplicitAny: a JSON body, whose shape the assertions check
type Body = Record<string, any>
const body = async (response: Response | Promise<Response>): Promise<Body> => (await (await response).json()) as Body

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

const setUp = async (options: { host?: string } = {}) => {
  const directory = mkdtempSync(join(tmpdir(), "switchboard-studio-"))
  const journal: SqliteJournal = sqliteJournal({ path: join(directory, "runs.db"), tailPollMs: 10 })
  cleanups.push(
    () => rmSync(directory, { recursive: true, force: true }),
    () => journal.close(),
  )
  const studio: RunningStudio = await serveStudio({ journal, pipelines: [{ pipeline: refunds, models: {} }], port: 0, ...options })
  cleanups.push(() => studio.close())
  return { journal, studio, base: `http://127.0.0.1:${studio.port}` }
}

type Message = { id: string; data: Record<string, unknown> }
/** Reads SSE messages from a response until `enough` says so (or `count` arrived), bounded by a timeout. */
const readEvents = async (response: Response, count: number, timeoutMs = 5000, enough: (events: readonly Message[]) => boolean = () => false) => {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  const events: Message[] = []
  let buffer = ""
  const timer = setTimeout(() => void reader.cancel(), timeoutMs)
  try {
    while (events.length < count && !enough(events)) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const message = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const id = /^id: (.*)$/m.exec(message)?.[1]
        const data = /^data: (.*)$/m.exec(message)?.[1]
        if (id !== undefined && data !== undefined) events.push({ id, data: JSON.parse(data) as Record<string, unknown> })
      }
    }
  } finally {
    clearTimeout(timer)
    await reader.cancel().catch(() => {})
  }
  return events
}

describe("switchboard studio API", () => {
  it("lists runs with a status filter and pages, shows one run with its chart, and 404s an unknown one", async () => {
    const { journal, base } = await setUp()
    const paused = await refunds.run({ amount: 12 }, { journal })
    expect(paused.status).toBe("awaiting-human")
    const list = await body(fetch(`${base}/api/runs?status=awaiting-human`))
    expect(list).toMatchObject({ total: 1, offset: 0, runs: [{ runId: paused.runId, pipeline: "refunds", status: "awaiting-human", unpricedCalls: 0 }] })
    expect((await body(fetch(`${base}/api/runs?status=done`))).total).toBe(0)
    expect((await fetch(`${base}/api/runs?status=nope`)).status).toBe(400)
    const run = await body(fetch(`${base}/api/runs/${paused.runId}`))
    expect(run.run.status).toBe("awaiting-human")
    expect(run.chart).toContain('data-step="review"')
    expect(run.waits).toEqual([
      expect.objectContaining({
        step: "review",
        prompt: 'Approve "refund 12"?',
        schema: expect.objectContaining({ type: "object", required: ["approve", "note"] }),
      }),
    ])
    const unknown = await fetch(`${base}/api/runs/nope`)
    expect(unknown.status).toBe(404)
    expect(await body(unknown)).toEqual({ error: expect.stringMatching(/no run "nope"/) })
    const page = await fetch(`${base}/runs/nope`)
    expect(page.status).toBe(404)
    expect(await page.text()).toContain("<title>switchboard studio</title>")
    expect((await fetch(`${base}/api/runs/nope/events`)).status).toBe(404)
  })

  it("streams a run's events from the cursor, honouring Last-Event-ID, and refuses a decision that fails its schema with field errors", async () => {
    const { journal, base } = await setUp()
    const paused = await refunds.run({ amount: 7 }, { journal })
    const entries = await journal.read(paused.runId)
    const last = entries.at(-1)?.seq ?? 0
    const resumed = await fetch(`${base}/api/runs/${paused.runId}/events`, { headers: { "last-event-id": String(last - 1) } })
    expect(resumed.headers.get("content-type")).toMatch(/text\/event-stream/)
    const replay = await readEvents(resumed, 1)
    expect(replay.map((event) => event.id)).toEqual([String(last)])

    const pending = await body(fetch(`${base}/api/pending`))
    expect(pending.waits).toEqual([expect.objectContaining({ runId: paused.runId, step: "review", pipeline: "refunds" })])

    const refused = await fetch(`${base}/api/runs/${paused.runId}/decisions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ step: "review", decision: { approve: "yes", note: "x" } }),
    })
    expect(refused.status).toBe(422)
    const refusal = await body(refused)
    expect(refusal.issues.map((issue: { path: string }) => issue.path).sort()).toEqual(["approve", "note"])
    expect((await journal.read(paused.runId)).length).toBe(entries.length)

    const live = await fetch(`${base}/api/runs/${paused.runId}/events?after=${last}`)
    const accepted = await fetch(`${base}/api/runs/${paused.runId}/decisions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ step: "review", decision: { approve: true, note: "ok" } }),
    })
    expect(accepted.status).toBe(202)
    const events = await readEvents(live, 50, 5000, (all) => all.some((event) => event.data.type === "run.finished"))
    expect(events[0]).toMatchObject({ id: String(last + 1), data: { type: "human.decided", step: "review" } })
    expect(events.at(-1)?.data).toMatchObject({ type: "run.finished", status: "done" })
    expect((await body(fetch(`${base}/api/runs?status=done`))).total).toBe(1)
  }, 20_000)

  it("puts a wait inside a parallel branch in the inbox by its address, with its schema, and decides it there", { timeout: 20_000 }, async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-studio-"))
    const journal = sqliteJournal({ path: join(directory, "runs.db"), tailPollMs: 10 })
    cleanups.push(
      () => rmSync(directory, { recursive: true, force: true }),
      () => journal.close(),
    )
    const machine = await import("../../machines/contract-review.machine.ts")
    const models = machine.scriptedModels()
    const studio = await serveStudio({ journal, pipelines: [{ pipeline: machine.default as never, models }], port: 0 })
    cleanups.push(() => studio.close())
    const base = `http://127.0.0.1:${studio.port}`
    const paused = await machine.default.run({ title: "Acme support plan", discountPercent: 10 }, { journal, models })
    expect(paused.status).toBe("awaiting-human")
    const pending = await body(fetch(`${base}/api/pending`))
    expect(pending.waits).toEqual([expect.objectContaining({ runId: paused.runId, step: "review.legal", schema: expect.objectContaining({ type: "object" }) })])
    const accepted = await fetch(`${base}/api/runs/${paused.runId}/decisions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ step: "review.legal", decision: { approve: true } }),
    })
    expect(accepted.status, JSON.stringify(await accepted.clone().json())).toBe(202)
    const deadline = Date.now() + 10_000
    let status = ""
    while (status !== "done" && Date.now() < deadline) {
      status = (await body(fetch(`${base}/api/runs/${paused.runId}`))).run.status
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(status).toBe("done")
    expect((await body(fetch(`${base}/api/pending`))).waits).toEqual([])
  })

  it("retries a failed run from the step that failed, and refuses to retry one that is waiting", { timeout: 20_000 }, async () => {
    const { journal, base } = await setUp()
    const paused = await refunds.run({ amount: 2 }, { journal })
    const refused = await fetch(`${base}/api/runs/${paused.runId}/retry`, { method: "POST" })
    expect(refused.status).toBe(409)
    expect((await body(refused)).error).toMatch(/cannot retry run/)
    expect((await fetch(`${base}/api/runs/nope/retry`, { method: "POST" })).status).toBe(404)

    const directory = mkdtempSync(join(tmpdir(), "switchboard-studio-"))
    const flakyJournal = sqliteJournal({ path: join(directory, "runs.db"), tailPollMs: 10 })
    cleanups.push(
      () => rmSync(directory, { recursive: true, force: true }),
      () => flakyJournal.close(),
    )
    const studio = await serveStudio({ journal: flakyJournal, pipelines: [{ pipeline: flaky as never, models: {} }], port: 0 })
    cleanups.push(() => studio.close())
    flakiness.failing = true
    const failed = await flaky.run({}, { journal: flakyJournal })
    expect(failed.status).toBe("failed")
    flakiness.failing = false
    const retried = await fetch(`http://127.0.0.1:${studio.port}/api/runs/${failed.runId}/retry`, { method: "POST" })
    expect(retried.status).toBe(202)
    const deadline = Date.now() + 10_000
    let status = ""
    while (status !== "done" && Date.now() < deadline) {
      status = (await body(fetch(`http://127.0.0.1:${studio.port}/api/runs/${failed.runId}`))).run.status
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(status).toBe("done")
  })

  it("ends the journal cursor behind an event stream when the client goes away", { timeout: 20_000 }, async () => {
    const directory = mkdtempSync(join(tmpdir(), "switchboard-studio-"))
    const journal = sqliteJournal({ path: join(directory, "runs.db"), tailPollMs: 10 })
    cleanups.push(
      () => rmSync(directory, { recursive: true, force: true }),
      () => journal.close(),
    )
    let open = 0
    const counted = {
      ...journal,
      runs: () => journal.runs(),
      tail: (options?: Parameters<typeof journal.tail>[0]) => {
        const entries = journal.tail(options)
        open += 1
        return (async function* () {
          try {
            yield* entries
          } finally {
            open -= 1
          }
        })()
      },
    }
    const studio = await serveStudio({ journal: counted, pipelines: [{ pipeline: refunds, models: {} }], port: 0 })
    cleanups.push(() => studio.close())
    const paused = await refunds.run({ amount: 5 }, { journal })
    const response = await fetch(`http://127.0.0.1:${studio.port}/api/runs/${paused.runId}/events`)
    expect((await readEvents(response, 1)).length).toBeGreaterThan(0)
    expect(open).toBe(1)
    const deadline = Date.now() + 10_000
    while (open > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(open).toBe(0)
  })

  it("on a non-loopback interface, refuses every request without the token it prints", async () => {
    const { studio, base } = await setUp({ host: "0.0.0.0" })
    expect(studio.token).toEqual(expect.any(String))
    expect(studio.url).toContain(`?token=${studio.token}`)
    expect((await fetch(`${base}/api/runs`)).status).toBe(401)
    expect((await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${studio.token}` } })).status).toBe(200)
    const page = await fetch(`${base}/?token=${studio.token}`)
    expect(page.status).toBe(200)
    expect(page.headers.get("set-cookie")).toMatch(/switchboard_studio=/)
  })
})
