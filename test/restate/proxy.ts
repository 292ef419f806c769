// A loopback TCP proxy in front of several service processes, as a load balancer would stand in
// front of a fleet: each connection goes to the next backend that accepts it, so when one process
// dies, Restate's retried invocations reach a survivor through the same URL.
import { connect, createServer, type Server, type Socket } from "node:net"

/** A running proxy: its URL, and how to stop it. */
export interface LoopbackProxy {
  readonly url: string
  close(): Promise<void>
}

/** Starts a round-robin proxy on a free loopback port in front of `backends` (ports on 127.0.0.1). */
export const loopbackProxy = async (backends: () => readonly number[]): Promise<LoopbackProxy> => {
  let next = 0
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  }
  const server: Server = createServer((client) => {
    track(client)
    client.pause()
    const ports = backends()
    const attempt = (tries: number) => {
      if (tries >= ports.length) return void client.destroy()
      const port = ports[next++ % ports.length] as number
      const upstream = connect(port, "127.0.0.1")
      track(upstream)
      upstream.once("connect", () => {
        upstream.removeAllListeners("error")
        upstream.on("error", () => client.destroy())
        client.on("error", () => upstream.destroy())
        client.pipe(upstream).pipe(client)
        client.resume()
      })
      // A dead backend refuses the connection: try the next one.
      upstream.once("error", () => attempt(tries + 1))
    }
    attempt(0)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
