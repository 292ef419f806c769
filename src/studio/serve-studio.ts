// Starts the studio on a port: loopback by default; any other interface only with a token.
import { randomBytes } from "node:crypto"
import type { AddressInfo } from "node:net"
import { type StudioOptions, studioApp } from "./studio-app.ts"

/**
 * Where and how to serve the studio.
 *
 * @example
 * const options: ServeStudioOptions = { journal, pipelines: [], port: 4400 }
 */
export interface ServeStudioOptions extends Omit<StudioOptions, "token"> {
  /** Default 4400; 0 picks a free port. */
  readonly port?: number
  /** Default `127.0.0.1`. Any other interface requires a token (one is made when none is given). */
  readonly host?: string
  readonly token?: string
}

/**
 * A running studio.
 *
 * @example
 * const studio = await serveStudio({ journal, pipelines })
 * console.log(studio.url)
 * await studio.close()
 */
export interface RunningStudio {
  /** The address to open, with `?token=` when the studio has one. */
  readonly url: string
  readonly port: number
  readonly token: string | undefined
  close(): Promise<void>
}

const loopback = (host: string): boolean => host === "127.0.0.1" || host === "::1" || host === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(host)

/**
 * Serves the studio with `@hono/node-server` (loaded here, on first use). On a loopback host no
 * token is needed unless one is given; on any other host every request must carry the token.
 *
 * @example
 * const studio = await serveStudio({ journal: sqliteJournal({ path: "runs.db" }), pipelines: [{ pipeline: triage, models }], port: 0 })
 */
export const serveStudio = async (options: ServeStudioOptions): Promise<RunningStudio> => {
  const host = options.host ?? "127.0.0.1"
  const token = options.token ?? (loopback(host) ? undefined : randomBytes(18).toString("base64url"))
  const app = studioApp({ ...options, ...(token === undefined ? {} : { token }) })
  const { serve } = await import("@hono/node-server")
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: options.port ?? 4400, hostname: host }, () => resolve(started))
    started.once("error", reject)
  })
  const port = (server.address() as AddressInfo).port
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    url: `http://${shown}:${port}/${token === undefined ? "" : `?token=${token}`}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        // Open event streams would keep close() waiting forever.
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
        server.close(() => resolve())
      }),
  }
}
