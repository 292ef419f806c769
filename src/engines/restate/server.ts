import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import { arch, platform, tmpdir } from "node:os"
import { join } from "node:path"
import { localNode, nodeConfig, RestateServerError, sleep, waitFor, waitForLeaders } from "./server-node.ts"

export { RestateServerError } from "./server-node.ts"

/**
 * One `restate-server` process of a local server or cluster.
 *
 * @example
 * const [, second] = server.nodes
 * await second?.kill() // the cluster keeps serving with replication 2
 * await second?.start()
 */
export interface RestateNode {
  readonly name: string
  readonly ingressUrl: string
  readonly adminUrl: string
  /** The process id (its own process group: stopping it stops everything it started). */
  readonly pid: number | undefined
  /** Kills the node at once (SIGKILL), as a crash would; `start()` brings it back on the same data. */
  kill(): Promise<void>
  start(): Promise<void>
}

/**
 * A running local Restate server (one node) or loopback cluster.
 *
 * @example
 * const server = await startRestateServer()
 * await server.register("http://127.0.0.1:9080")
 * await server.stop()
 */
export interface RestateServer {
  /** Ingress of the first node: where runs are started and decisions delivered. */
  readonly ingressUrl: string
  readonly adminUrl: string
  readonly nodes: readonly RestateNode[]
  /** Registers (or re-registers) a service endpoint with the cluster through the admin API. */
  register(endpointUrl: string): Promise<void>
  /** Stops every node (SIGKILL of each process group) and removes the temporary data directory. */
  stop(): Promise<void>
}

/**
 * Options of {@link startRestateServer}.
 *
 * @example
 * const options: RestateServerOptions = { nodes: 3, replication: 2 }
 */
export interface RestateServerOptions {
  /** How many nodes (1 = single server; 3 = a cluster tolerating one lost node with replication 2). */
  readonly nodes?: number
  /** How many nodes hold each log record and partition (default: 1 for one node, 2 otherwise). */
  readonly replication?: number
  /** Where node data goes (default: a new temporary directory, removed by `stop()`). */
  readonly baseDirectory?: string
  /** How long a node may take to become healthy (default 60 s). */
  readonly startTimeoutMs?: number
  /** The server binary (default: the one `@restatedev/restate-server` installed for this platform). */
  readonly binary?: string
  /** Partitions of a new cluster (default 4: enough for a few processes, quick to start). */
  readonly partitions?: number
}

/**
 * The `restate-server` binary that `@restatedev/restate-server` installed for this platform, if any.
 *
 * @example
 * if (restateServerBinary() === undefined) console.warn("install @restatedev/restate-server to run Restate locally")
 */
export const restateServerBinary = (): string | undefined => {
  try {
    return createRequire(import.meta.url).resolve(`@restatedev/restate-server-${platform()}-${arch()}/bin/restate-server`)
  } catch {
    return undefined
  }
}

/**
 * Starts `restate-server` from its npm package on free loopback ports with a temporary data
 * directory: one node, or a loopback cluster (`nodes: 3`, replication 2). Every listener is bound
 * to 127.0.0.1 and telemetry is off. restate-server 1.7.12 also asks api.github.com for its
 * latest release at every start (no setting turns that off): on Linux as root, each node starts
 * in a mount namespace whose DNS is 127.0.0.1 only, so that lookup fails at once; elsewhere the
 * request goes out (offline it fails quietly and changes nothing).
 *
 * @example
 * const server = await startRestateServer({ nodes: 3 })
 * try { await server.register(endpointUrl) } finally { await server.stop() }
 */
export const startRestateServer = async (options: RestateServerOptions = {}): Promise<RestateServer> => {
  const binary = options.binary ?? restateServerBinary()
  if (binary === undefined) {
    throw new RestateServerError(
      "binary-missing",
      `no restate-server binary for ${platform()}-${arch()}: install @restatedev/restate-server (it brings the binary as an optional dependency)`,
    )
  }
  // Free ports are picked before the server binds them, so another process can take one between
  // the two (tests start clusters side by side): a node that exits at start is tried again on new
  // ports in a fresh directory, twice, before the failure is reported.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCluster(binary, options, attempt)
    } catch (error) {
      if (!(error instanceof RestateServerError && error.reason === "start-failed") || attempt >= 3) throw error
    }
  }
}

const startCluster = async (binary: string, options: RestateServerOptions, attempt: number): Promise<RestateServer> => {
  const count = options.nodes ?? 1
  const replication = options.replication ?? (count === 1 ? 1 : 2)
  const owned = options.baseDirectory === undefined
  const baseDirectory =
    options.baseDirectory === undefined
      ? mkdtempSync(join(tmpdir(), "switchboard-restate-"))
      : attempt === 1
        ? options.baseDirectory
        : join(options.baseDirectory, `attempt-${attempt}`)
  mkdirSync(baseDirectory, { recursive: true })
  const timeoutMs = options.startTimeoutMs ?? 60_000
  const ports = await Promise.all(Array.from({ length: count }, async () => ({ fabric: await freePort(), ingress: await freePort(), admin: await freePort() })))
  const fabricAddresses = ports.map((port) => `http://127.0.0.1:${port.fabric}/`)
  const nodes = ports.map((port, index) => {
    const name = `node-${index + 1}`
    const configFile = join(baseDirectory, `${name}.toml`)
    writeFileSync(
      configFile,
      nodeConfig({ name, baseDirectory, port, replication, firstNode: index === 0, fabricAddresses, partitions: options.partitions ?? 4 }),
    )
    return localNode(binary, name, configFile, join(baseDirectory, `${name}.log`), port, timeoutMs)
  })
  const stopAll = async () => {
    await Promise.all(nodes.map((node) => node.kill()))
    if (owned) rmSync(baseDirectory, { recursive: true, force: true })
  }
  // A test runner that dies must not leave servers behind.
  const onExit = () => {
    for (const node of nodes) node.killNow()
    if (owned) rmSync(baseDirectory, { recursive: true, force: true })
  }
  process.once("exit", onExit)
  try {
    await Promise.all(nodes.map((node) => node.start()))
    const first = nodes[0] as (typeof nodes)[number]
    await waitFor(`${first.ingressUrl}/restate/health`, timeoutMs, first.logTail)
    // A new cluster moves partition leadership once its nodes see each other; a step in flight at
    // that moment runs again. Hand the cluster over only once every partition has its leader.
    await waitForLeaders(
      nodes.map((node) => node.logFile),
      options.partitions ?? 4,
      timeoutMs,
    )
  } catch (error) {
    process.off("exit", onExit)
    await stopAll()
    throw error
  }
  const first = nodes[0] as (typeof nodes)[number]
  return {
    ingressUrl: first.ingressUrl,
    adminUrl: first.adminUrl,
    nodes,
    register: async (endpointUrl) => {
      const deadline = Date.now() + timeoutMs
      let last = ""
      // Right after start the cluster may still be placing partitions: retry until it accepts.
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`${first.adminUrl}/deployments`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ uri: endpointUrl, force: true }),
            signal: AbortSignal.timeout(10_000),
          })
          if (response.ok) return
          last = `${response.status} ${await response.text()}`
          // A refusal (bad name, unreachable endpoint) will not change by asking again.
          if (response.status >= 400 && response.status < 500) break
        } catch (error) {
          last = error instanceof Error ? error.message : String(error)
        }
        await sleep(250)
      }
      throw new RestateServerError("registration-failed", `registering ${endpointUrl} with ${first.adminUrl} failed: ${last}`, first.logTail())
    },
    stop: async () => {
      process.off("exit", onExit)
      await stopAll()
    },
  }
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now.
 *
 * @example
 * const listening = await restateEndpoint({ pipelines: [triage] }).listen(await freePort())
 */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })
