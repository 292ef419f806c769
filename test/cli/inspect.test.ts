import { connect } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import type { InspectionEvent } from "xstate"
import { startInspector } from "../../src/cli/inspect.ts"
import { greeting, scriptedModels } from "./fixtures/greeting.pipeline.ts"
import { type Running, startCli } from "./run-cli.ts"

const steps = ["normalize", "compose", "shout"]
const running = new Set<Running>()
const viewers = new Set<WebSocket>()

afterEach(() => {
  for (const process of running) process.child.kill("SIGKILL")
  running.clear()
  for (const viewer of viewers) viewer.close()
  viewers.clear()
})

/** What a browser page connected to the inspector server receives (Stately's event shape). */
interface Received {
  readonly type: string
  readonly sessionId: string
  readonly event?: { readonly type: string }
  readonly snapshot?: { readonly value?: unknown; readonly status?: string }
}

// A browser page's stand-in: connects to the inspector server and keeps what it is sent.
const viewer = async (port: number) => {
  const socket = new WebSocket(`ws://127.0.0.1:${port}`)
  viewers.add(socket)
  const received: Received[] = []
  socket.addEventListener("message", (message) => received.push(JSON.parse(String(message.data)) as Received))
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve)
    socket.addEventListener("error", reject)
  })
  return { socket, received }
}

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

const finished = (received: readonly Received[]) =>
  received.some((event) => event.type === "@xstate.snapshot" && event.snapshot?.value === "done" && event.snapshot.status === "done")

describe("inspection events", () => {
  it("reports every step's actor, the events the machine receives and its snapshots", async () => {
    const events: InspectionEvent[] = []
    const handle = greeting.start({ name: "Ada", review: true }, { models: scriptedModels(), inspect: (event) => events.push(event) })
    await until(() =>
      events.some(
        (event) => event.type === "@xstate.snapshot" && event.snapshot.status === "active" && (event.snapshot as { value?: unknown }).value === "review",
      ),
    )
    handle.send("review", { approve: true })
    expect(await handle.result).toMatchObject({ status: "done" })

    const root = events.find((event) => event.type === "@xstate.actor")?.actorRef
    const onRoot = events.filter((event) => event.actorRef === root)
    for (const step of steps) {
      expect(events).toContainEqual(expect.objectContaining({ type: "@xstate.actor", actorRef: expect.objectContaining({ id: step }) }))
      expect(onRoot).toContainEqual(expect.objectContaining({ type: "@xstate.event", event: expect.objectContaining({ type: `xstate.done.actor.${step}` }) }))
      expect(onRoot).toContainEqual(expect.objectContaining({ type: "@xstate.snapshot", snapshot: expect.objectContaining({ value: step }) }))
    }
    expect(onRoot).toContainEqual(expect.objectContaining({ type: "@xstate.event", event: { type: "review.decide", decision: { approve: true } } }))
    expect(onRoot.at(-1)).toMatchObject({ type: "@xstate.snapshot", snapshot: { value: "done", status: "done" } })
  })

  it("streams a run through a local inspector server to a connected page, then stops it", async () => {
    const inspector = await startInspector()
    expect(inspector.url).toBe(`http://localhost:${inspector.port}`)
    const page = await viewer(inspector.port)
    expect(await greeting.run({ name: "Ada" }, { models: scriptedModels(), inspect: inspector.inspect })).toMatchObject({ status: "done" })
    await until(() => finished(page.received))
    page.socket.close()
    await inspector.stop()

    const types = new Set(page.received.map((event) => event.type))
    expect([...types].sort()).toEqual(["@xstate.actor", "@xstate.event", "@xstate.snapshot"])
    for (const step of steps)
      expect(page.received).toContainEqual(expect.objectContaining({ type: "@xstate.snapshot", snapshot: expect.objectContaining({ value: step }) }))
    expect(await listening(inspector.port)).toBe(false)
  })
})

describe("switchboard run --inspect", () => {
  it("prints where to watch, serves the run's events to a page, and exits when the run (and the linger) ends", async () => {
    const cli = startCli([
      "run",
      "test/cli/fixtures/greeting.pipeline.ts",
      "--pipeline",
      "greeting",
      "--input",
      '{"name":"Ada"}',
      "--inspect",
      "--inspect-linger",
      "1.5",
    ])
    running.add(cli)
    await until(() => /inspector: watch this run at http:\/\/localhost:\d+/.test(cli.stderr()), 10_000)
    const port = Number(/localhost:(\d+)/.exec(cli.stderr())?.[1])
    // The run may be over already: the server replays what it relayed to a page that connects late.
    const page = await viewer(port)
    await until(() => finished(page.received))
    page.socket.close()
    const started = Date.now()
    const { code, stdout, stderr } = await cli.finished
    expect(Date.now() - started).toBeLessThan(1800)
    expect(code).toBe(0)
    expect(stdout).toContain("done: output of shout")
    expect(stderr).toContain("open it in a browser with internet access")
    expect(page.received).toContainEqual(expect.objectContaining({ type: "@xstate.actor" }))
    expect(page.received).toContainEqual(
      expect.objectContaining({ type: "@xstate.event", event: expect.objectContaining({ type: "xstate.done.actor.compose" }) }),
    )
    expect(await listening(port)).toBe(false)
  })

  it("refuses a port that is not a number", async () => {
    const cli = startCli(["run", "test/cli/fixtures/greeting.pipeline.ts", "--pipeline", "greeting", "--input", '{"name":"Ada"}', "--inspect", "eighty"])
    const { code, stderr } = await cli.finished
    expect(code).toBe(2)
    expect(stderr).toContain('--inspect PORT must be a port number (1-65535), got "eighty"')
  })
})
