// `--inspect`: streams a run's live machine to the Stately inspector through a local websocket
// server. `@statelyai/inspect` is an optional peer dependency, loaded only when asked for.
import { connect, createServer } from "node:net"
import type { Command } from "commander"
import type { InspectionEvent } from "xstate"
import type { Output } from "./commands.ts"
import { UsageError } from "./load-pipeline.ts"

/**
 * A running inspector: pass `inspect` as the run's `inspect` option, then `stop` it.
 *
 * @example
 * const inspector = await startInspector()
 * await pipeline.run(input, { models, inspect: inspector.inspect })
 * await inspector.stop()
 */
export interface InspectorSession {
  readonly inspect: (event: InspectionEvent) => void
  readonly port: number
  /** The local page that embeds the Stately inspector and relays this run's events to it. */
  readonly url: string
  /** Sends what is still queued, closes the connection and the server. */
  stop(): Promise<void>
}

/** The `--inspect` flags as commander parses them. */
export interface InspectFlags {
  readonly inspect?: boolean | string | undefined
  readonly inspectLinger?: string | undefined
}

/** What `--help` of `run` and `resume` says about watching a run. */
export const inspectHelp = `
Watching a run in the Stately inspector (--inspect):
  Needs the optional package @statelyai/inspect (npm install --save-dev @statelyai/inspect).
  A local server starts on 127.0.0.1 (a free port, or --inspect PORT) and the command prints
  its address: open it in a browser. The page embeds the Stately inspector from stately.ai,
  so that browser needs internet access; the run's events reach it only through the local
  server. The server replays the last 200 events to a page that connects late; a quick run
  can be kept open for a late page with --inspect-linger SECONDS. Both stop when the run ends.`

/**
 * Adds `--inspect [port]` and `--inspect-linger <seconds>` to a command.
 *
 * @example
 * addInspectOptions(program.command("run"))
 */
export const addInspectOptions = (command: Command): Command =>
  command
    .option("--inspect [port]", "stream the live machine to the Stately inspector (a free port unless given)")
    .option("--inspect-linger <seconds>", "with --inspect, keep the inspector server up this long after the run")
    .addHelpText("after", inspectHelp)

/**
 * Runs `use` with an inspector when the flags ask for one (printing where to watch on stderr),
 * and stops it when `use` settles; without `--inspect`, just runs `use`.
 *
 * @example
 * const code = await withInspector(flags, output, (inspecting) => runCommand(file, { ...options, ...inspecting }, output))
 */
export const withInspector = async (
  flags: InspectFlags,
  output: Output,
  use: (inspecting: { readonly inspect?: (event: InspectionEvent) => void }) => Promise<number>,
): Promise<number> => {
  if (flags.inspect === undefined || flags.inspect === false) return use({})
  const port = flags.inspect === true ? undefined : parsePort(flags.inspect)
  const lingerMs = flags.inspectLinger === undefined ? 0 : parseSeconds(flags.inspectLinger)
  const inspector = await startInspector(port === undefined ? {} : { port })
  output.error(
    `inspector: watch this run at ${inspector.url} (a page embedding the Stately inspector from stately.ai: open it in a browser with internet access)`,
  )
  try {
    return await use({ inspect: inspector.inspect })
  } finally {
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs))
    await inspector.stop()
  }
}

/**
 * Starts the local inspector server (on `port`, else a free one) and connects an inspector to it.
 * Throws a usage error when `@statelyai/inspect` is not installed.
 *
 * @example
 * const inspector = await startInspector({ port: 8080 })
 */
export const startInspector = async (options: { readonly port?: number } = {}): Promise<InspectorSession> => {
  const [client, server] = await loadInspect()
  const port = await freePort(options.port ?? 0)
  const inspectorServer = server.createInspectorServer({ port, autoOpen: false })
  await untilListening(port)
  const inspector = client.createWebSocketInspector({ url: `ws://127.0.0.1:${port}` })
  return {
    inspect: (event) => inspector.inspect.next?.(event),
    port,
    url: `http://localhost:${port}`,
    stop: async () => {
      // Events of a run that ended before the connection opened are queued until it opens.
      await until(() => Reflect.get(inspector.adapter, "status") === "open", 2000)
      inspector.stop()
      inspectorServer.stop()
    },
  }
}

type InspectModules = readonly [typeof import("@statelyai/inspect"), typeof import("@statelyai/inspect/server")]

const loadInspect = async (): Promise<InspectModules> => {
  try {
    return await Promise.all([import("@statelyai/inspect"), import("@statelyai/inspect/server")])
  } catch (error) {
    throw new UsageError(
      `--inspect needs the package @statelyai/inspect (npm install --save-dev @statelyai/inspect): ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}

// The inspector server takes no port 0 (its page must name the port), so ask the system for one;
// a given port is tried first, as the server would crash the process on a port in use.
const freePort = (wanted: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once("error", (error) => reject(new UsageError(`--inspect: cannot listen on port ${wanted}: ${error.message}`)))
    // Same address as the inspector server: every interface.
    probe.listen(wanted, () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

// The server starts listening asynchronously; the inspector would otherwise retry only after 5s.
const untilListening = async (port: number): Promise<void> => {
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1")
      socket.once("connect", () => (socket.destroy(), resolve(true)))
      socket.once("error", () => resolve(false))
    })
  if (!(await until(accepts, 3000))) throw new UsageError(`--inspect: the inspector server did not start on port ${port} (is the port taken?)`)
}

const until = async (condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

const parsePort = (value: string): number => {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new UsageError(`--inspect PORT must be a port number (1-65535), got "${value}"`)
  return port
}

const parseSeconds = (value: string): number => {
  const seconds = Number(value)
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--inspect-linger must be a number of seconds, got "${value}"`)
  return seconds * 1000
}
