// A programmable HTTP server on 127.0.0.1 for provider tests: each request takes the next scripted
// reply (JSON, SSE with pauses, hang, connection reset) and is logged with its headers and body.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: unknown
  /** Set when the client went away before the reply finished (e.g. an aborted request). */
  closedEarly: boolean
}

export type Reply =
  | { readonly kind: "json"; readonly status?: number; readonly headers?: Record<string, string>; readonly body: unknown; readonly delayMs?: number }
  /** Raw body text (e.g. truncated JSON). */
  | { readonly kind: "raw"; readonly status?: number; readonly headers?: Record<string, string>; readonly body: string }
  /** Server-sent events: each chunk is written as-is (`data: ...\n\n` or `event: x\ndata: ...\n\n`), after its pause. */
  | {
      readonly kind: "sse"
      readonly chunks: ReadonlyArray<string | { readonly pauseMs: number }>
      readonly end?: "close" | "reset" | "hang"
      readonly headers?: Record<string, string>
    }
  /** Accept the request and never answer. */
  | { readonly kind: "hang" }
  /** Destroy the socket without an answer. */
  | { readonly kind: "reset" }

/** Formats one SSE event: `sse({ ... })` or `sse({ ... }, "message_start")`. */
export const sse = (data: unknown, event?: string): string =>
  `${event === undefined ? "" : `event: ${event}\n`}data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`

export interface FakeServer {
  readonly url: string
  readonly requests: LoggedRequest[]
  /** Queue replies, used in order; with none queued, requests get a 500 naming the problem. */
  reply(...replies: Reply[]): void
  close(): Promise<void>
}

export const startFakeServer = async (): Promise<FakeServer> => {
  const queue: Reply[] = []
  const requests: LoggedRequest[] = []
  const sockets = new Set<Socket>()
  const pending = new Set<ReturnType<typeof setTimeout>>()
  const later = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => (pending.delete(timer), resolve()), ms)
      pending.add(timer)
    })
  const server = createServer(async (request, response) => {
    let raw = ""
    for await (const chunk of request) raw += chunk
    let body: unknown = raw
    try {
      body = raw === "" ? undefined : JSON.parse(raw)
    } catch {
      // keep the raw text
    }
    const logged: LoggedRequest = { method: request.method ?? "", path: request.url ?? "", headers: request.headers, body, closedEarly: false }
    requests.push(logged)
    response.on("close", () => {
      if (!response.writableEnded) logged.closedEarly = true
    })
    const reply = queue.shift()
    if (reply === undefined)
      return send(response, 500, {}, JSON.stringify({ error: { message: `fake server: no reply queued for request ${requests.length}` } }))
    await play(reply, response, later)
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    close: async () => {
      for (const timer of pending) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

const send = (response: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(body)
}

const play = async (reply: Reply, response: ServerResponse, later: (ms: number) => Promise<void>) => {
  switch (reply.kind) {
    case "json":
      if (reply.delayMs !== undefined) await later(reply.delayMs)
      return send(response, reply.status ?? 200, reply.headers ?? {}, JSON.stringify(reply.body))
    case "raw":
      return send(response, reply.status ?? 200, reply.headers ?? {}, reply.body)
    case "hang":
      return
    case "reset":
      response.socket?.destroy()
      return
    case "sse": {
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...reply.headers })
      response.flushHeaders()
      for (const chunk of reply.chunks) {
        if (typeof chunk === "string") response.write(chunk)
        else await later(chunk.pauseMs)
        if (response.destroyed) return
      }
      if (reply.end === "reset") response.socket?.destroy()
      else if (reply.end !== "hang") response.end()
    }
  }
}
