// One restate-server process of a local server or cluster: its config file, its process group,
// and the waits that tell when it (and the cluster) can be used.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { accessSync, closeSync, constants, openSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

// restate-server asks api.github.com for its latest release at every start; no setting turns that
// off, and its HTTP client ignores proxy variables. Where the process may have a mount namespace
// of its own (Linux, root), it starts in one whose /etc/resolv.conf names only 127.0.0.1, so the
// lookup fails at once and nothing leaves the machine. Telemetry is off in every case.
let namespaces: boolean | undefined
const canIsolate = (): boolean =>
  (namespaces ??= process.platform === "linux" && spawnSync("unshare", ["-m", "true"], { stdio: "ignore", timeout: 5000 }).status === 0)

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/** The command that starts `binary`: inside a mount namespace with loopback-only DNS when possible. */
const isolated = (binary: string, args: readonly string[], dataDir: string): readonly [string, readonly string[]] => {
  // A binary that cannot run is spawned directly, so its spawn error names it.
  if (!canIsolate() || !executable(binary)) return [binary, args]
  const resolv = join(dataDir, "resolv.conf")
  writeFileSync(resolv, "nameserver 127.0.0.1\n")
  // `unshare` and `sh` exec in place: the pid (and process group) stay restate-server's.
  return ["unshare", ["-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, binary, ...args]]
}

/**
 * The `restate-server` binary could not be found or started, or a node did not become healthy in
 * time. `reason` says which; `log` holds the tail of the node's own log when there is one.
 *
 * @example
 * try { await startRestateServer() } catch (error) { if (error instanceof RestateServerError) console.error(error.reason, error.log) }
 */
export class RestateServerError extends Error {
  override readonly name = "RestateServerError"
  readonly reason: "binary-missing" | "start-failed" | "unhealthy" | "registration-failed"
  readonly log: string
  constructor(reason: RestateServerError["reason"], message: string, log = "") {
    super(message)
    this.reason = reason
    this.log = log
  }
}

/** The TOML configuration of one node: loopback addresses, telemetry off, one provisioning node. */
export const nodeConfig = (config: {
  readonly name: string
  readonly baseDirectory: string
  readonly port: { readonly fabric: number; readonly ingress: number; readonly admin: number }
  readonly replication: number
  readonly firstNode: boolean
  readonly fabricAddresses: readonly string[]
  readonly partitions: number
}): string =>
  [
    `node-name = ${JSON.stringify(config.name)}`,
    `cluster-name = "switchboard-local"`,
    `base-dir = ${JSON.stringify(config.baseDirectory)}`,
    // Exactly one node may create the cluster; the others join it through the metadata servers.
    `auto-provision = ${config.firstNode}`,
    `default-replication = ${config.replication}`,
    `default-num-partitions = ${config.partitions}`,
    // The daily usage ping to restate.gateway.scarf.sh.
    `disable-telemetry = true`,
    `listen-mode = "tcp"`,
    `bind-address = "127.0.0.1:${config.port.fabric}"`,
    `advertised-address = "http://127.0.0.1:${config.port.fabric}/"`,
    `log-disable-ansi-codes = true`,
    // Loopback nodes start together: stop suspecting a silent peer after 1 s instead of 5 s, so
    // the cluster settles (and notices a dead node) sooner.
    `gossip-suspect-interval = "1s"`,
    `[metadata-client]`,
    `addresses = ${JSON.stringify(config.fabricAddresses)}`,
    `[admin]`,
    `bind-address = "127.0.0.1:${config.port.admin}"`,
    // Not needed here; one listener less.
    `disable-web-ui = true`,
    `[ingress]`,
    `bind-address = "127.0.0.1:${config.port.ingress}"`,
    "",
  ].join("\n")

/** One node's process: started in its own process group, killed with the whole group. */
export const localNode = (
  binary: string,
  name: string,
  configFile: string,
  logFile: string,
  port: { readonly ingress: number; readonly admin: number },
  timeoutMs: number,
) => {
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()
  const logTail = () => {
    try {
      return readFileSync(logFile, "utf8").slice(-4000)
    } catch {
      return ""
    }
  }
  const node = {
    name,
    ingressUrl: `http://127.0.0.1:${port.ingress}`,
    adminUrl: `http://127.0.0.1:${port.admin}`,
    get pid() {
      return child?.pid
    },
    logTail,
    logFile,
    start: async () => {
      if (child !== undefined && child.exitCode === null && child.signalCode === null) return
      const log = openSync(logFile, "a")
      try {
        const [command, args] = isolated(binary, ["--config-file", configFile, "--no-logo"], dirname(configFile))
        child = spawn(command, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, RESTATE_DISABLE_TELEMETRY: "true" } })
      } finally {
        closeSync(log)
      }
      const started = child
      exited = new Promise((resolve) => {
        started.once("exit", () => resolve())
        // A binary that never started never exits either.
        started.once("error", () => resolve())
      })
      const failed = new Promise<never>((_, reject) =>
        started.once("error", (error) => reject(new RestateServerError("start-failed", `${binary} could not start: ${error.message}`))),
      )
      failed.catch(() => {})
      await Promise.race([failed, waitFor(`${node.adminUrl}/health`, timeoutMs, logTail, started)])
    },
    kill: async () => {
      node.killNow()
      await exited
    },
    killNow: () => {
      const pid = child?.pid
      if (pid === undefined || child?.exitCode !== null || child.signalCode !== null) return
      try {
        // The node's whole process group: nothing it started outlives it.
        process.kill(-pid, "SIGKILL")
      } catch {
        // already gone
      }
    },
  }
  return node
}

/** Waits until the nodes' logs show a leader for every partition (the server says so in its log only). */
export const waitForLeaders = async (logFiles: readonly string[], partitions: number, timeoutMs: number): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const led = new Set<string>()
    for (const file of logFiles) {
      let text = ""
      try {
        text = readFileSync(file, "utf8")
      } catch {
        continue
      }
      for (const match of text.matchAll(/became Leader[^\n]*\n(?:[^\n]*\n){0,4}?\s*partition_id: (\d+)/g)) led.add(match[1] as string)
    }
    if (led.size >= partitions) return
    await sleep(100)
  }
  // A server whose log says nothing of the kind (another version) is used as it is.
}

/** Waits until `url` answers 200; fails early with the node's log when its process exits. */
export const waitFor = async (url: string, timeoutMs: number, logTail: () => string, child?: ChildProcess): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child !== undefined && (child.exitCode !== null || child.signalCode !== null)) {
      const log = logTail()
      // The log's last lines say why (a port taken meanwhile, a bad config): in the message, where a test report shows it.
      const why = log.trim().split("\n").slice(-5).join("\n")
      throw new RestateServerError(
        "start-failed",
        `restate-server exited (${child.exitCode ?? child.signalCode}) before ${url} answered${why === "" ? "" : `:\n${why}`}`,
        log,
      )
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      if (response.ok) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new RestateServerError("unhealthy", `${url} did not answer within ${timeoutMs} ms`, logTail())
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
