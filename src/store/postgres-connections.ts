import type { Client } from "pg"

// The dedicated (never pooled) connections of a Postgres journal: one per claim, one per listener.

/** A held advisory lock: release() is idempotent; `lost` fires if the connection dies first. */
export interface Claim {
  readonly lost: AbortSignal
  release(): Promise<void>
}

export const holdClaim = (client: Client, unlock: () => Promise<unknown>, forget: () => void): Claim => {
  const lost = new AbortController()
  // The lock lives and dies with this connection; an error here means Postgres freed it.
  client.on("error", (error) => {
    forget()
    lost.abort(new Error(`the claim's connection to Postgres was lost: ${error.message}`))
  })
  let releasing: Promise<void> | undefined
  return {
    lost: lost.signal,
    release: () =>
      (releasing ??= (async () => {
        forget()
        try {
          if (!lost.signal.aborted) await unlock()
        } catch {
          // Closing the connection below frees the lock even when the unlock statement failed.
        }
        await client.end().catch(() => {})
      })()),
  }
}

/**
 * LISTENs on `channel` through connections from `connect`, calling `onRunnable` with each payload.
 * A dropped connection is replaced a second later until stopped; the first one must succeed.
 */
export const listenForRuns = async (connect: () => Client, channel: string, onRunnable: (runId: string) => void, forget: () => void): Promise<() => Promise<void>> => {
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
