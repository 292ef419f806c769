import type { Client } from "pg"

// The dedicated (never pooled) connections of a Postgres journal: one claim session holding every
// advisory lock the journal takes, and one connection per listener.

/** A held advisory lock: release() is idempotent; `lost` fires if the session dies first. */
export interface Claim {
  readonly lost: AbortSignal
  release(): Promise<void>
}

interface Session {
  readonly client: Client
  /** Aborted when the connection dies: Postgres has then freed every lock it held. */
  readonly lost: AbortController
}

/**
 * One dedicated connection that takes and holds all of a journal's claims. Session advisory locks
 * live as long as the connection, so one connection holds any number of them: a run's claim costs
 * one statement instead of a new connection (~20 ms). The connection opens at the first claim and,
 * after it dies (every claim on it is then lost), a fresh one opens at the next claim.
 */
export const claimSession = (connect: () => Client) => {
  let opening: Promise<Session> | undefined
  // One statement at a time on the session: many runs claim and release at once, and a client
  // given a second query while one is in flight only queues it by a deprecated path (pg 9 refuses).
  let queue: Promise<unknown> = Promise.resolve()
  const serially = <TValue>(statement: () => Promise<TValue>): Promise<TValue> => {
    const run = queue.then(statement)
    queue = run.catch(() => {})
    return run
  }
  const open = (): Promise<Session> => {
    if (opening !== undefined) return opening
    const client = connect()
    const session: Session = { client, lost: new AbortController() }
    const die = (reason: string) => {
      if (opening === connecting) opening = undefined
      if (!session.lost.signal.aborted) session.lost.abort(new Error(`the claim's connection to Postgres was lost: ${reason}`))
    }
    client.on("error", (error) => die(error.message))
    client.on("end", () => die("the connection ended"))
    const connecting: Promise<Session> = client.connect().then(
      () => session,
      async (error: unknown) => {
        die(error instanceof Error ? error.message : String(error))
        await client.end().catch(() => {})
        throw error
      },
    )
    opening = connecting
    return connecting
  }
  return {
    /** Runs `lock` on the session; `unlock` is run by the returned claim's release while the session lives. */
    async hold(lock: (client: Client) => Promise<boolean>, unlock: (client: Client) => Promise<unknown>, forget: () => void): Promise<Claim | undefined> {
      const session = await open()
      if (!(await serially(() => lock(session.client)))) return undefined
      // Each claim has its own signal: losing the session aborts the claims it still holds, never a released one.
      const lost = new AbortController()
      const onLost = () => {
        forget()
        lost.abort(session.lost.signal.reason)
      }
      if (session.lost.signal.aborted) onLost()
      else session.lost.signal.addEventListener("abort", onLost, { once: true })
      let releasing: Promise<void> | undefined
      return {
        lost: lost.signal,
        release: () =>
          (releasing ??= (async () => {
            session.lost.signal.removeEventListener("abort", onLost)
            forget()
            if (lost.signal.aborted) return
            try {
              await serially(() => unlock(session.client))
            } catch {
              // A failed unlock leaves the lock to the session; ending the session (close) frees it.
            }
          })()),
      }
    },
    /** Ends the session's connection, freeing whatever it still holds. */
    async close(): Promise<void> {
      const current = opening
      opening = undefined
      const session = await current?.catch(() => undefined)
      await session?.client.end().catch(() => {})
    },
  }
}

/**
 * LISTENs on `channel` through connections from `connect`, calling `onRunnable` with each payload.
 * A dropped connection is replaced a second later until stopped; the first one must succeed.
 */
export const listenForRuns = async (
  connect: () => Client,
  channel: string,
  onRunnable: (runId: string) => void,
  forget: () => void,
): Promise<() => Promise<void>> => {
  let stopped = false
  let current: Client | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  const open = async () => {
    const client = connect()
    // Errors end the connection; "end" below replaces it.
    client.on("error", () => {})
    client.on("notification", ({ payload }) => {
      if (payload === undefined || payload === "") return
      try {
        onRunnable(payload)
      } catch {
        // A listener's bug must not take the connection down with it.
      }
    })
    client.on("end", () => {
      if (current === client) reconnect()
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${channel}"`)
    } catch (error) {
      await client.end().catch(() => {})
      throw error
    }
    current = client
    if (stopped) await client.end().catch(() => {})
  }
  const reconnect = () => {
    current = undefined
    if (stopped) return
    retry = setTimeout(() => void open().catch(reconnect), 1000)
  }
  await open()
  return async () => {
    if (stopped) return
    stopped = true
    forget()
    clearTimeout(retry)
    const client = current
    current = undefined
    await client?.end().catch(() => {})
  }
}
