// One model's queue under one set of limits: slots in flight, token buckets for requests and
// tokens per minute, and a pause the provider asked for. Time comes from Date.now and setTimeout,
// so fake timers drive it in tests.
import type { ModelLimit } from "./model-limits.ts"

/** A slot of a model's queue: give it back with the tokens the call used, when the answer said. */
export interface ModelSlot {
  /** How long the call waited for its slot. */
  readonly queuedMs: number
  release(usedTokens?: number): void
}

interface Waiter {
  readonly tokens: number
  readonly signal: AbortSignal
  readonly enqueuedAt: number
  readonly grant: (slot: ModelSlot) => void
  readonly refuse: (reason: unknown) => void
  readonly onAbort: () => void
}

/**
 * One model's queue under one set of limits, shared by every caller in the process.
 *
 * @example
 * const slot = await modelLimiter("openai:gpt-4.1-mini", { inFlight: 2 }).acquire(100, signal)
 * slot.release(120)
 */
export class ModelLimiter {
  private inFlightNow = 0
  private peak = 0
  private readonly waiting: Waiter[] = []
  private requests: number
  private tokens: number
  private refilledAt = Date.now()
  private pausedUntil = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = 0

  readonly key: string
  readonly limit: ModelLimit

  constructor(key: string, limit: ModelLimit) {
    this.key = key
    this.limit = limit
    this.requests = limit.requestsPerMinute ?? 0
    this.tokens = limit.tokensPerMinute ?? 0
  }

  /** Calls in flight now, the most there ever were at once, and how many wait. */
  get stats(): { readonly inFlight: number; readonly peakInFlight: number; readonly waiting: number } {
    return { inFlight: this.inFlightNow, peakInFlight: this.peak, waiting: this.waiting.length }
  }

  /**
   * Waits for a slot in turn (first come, first served); rejects with the signal's reason when it
   * aborts first, leaving the queue as if the caller had never come.
   */
  acquire(tokens: number, signal: AbortSignal): Promise<ModelSlot> {
    if (signal.aborted) return Promise.reject(signal.reason)
    return new Promise<ModelSlot>((grant, refuse) => {
      const waiter: Waiter = {
        tokens,
        signal,
        enqueuedAt: Date.now(),
        grant,
        refuse,
        onAbort: () => {
          const index = this.waiting.indexOf(waiter)
          if (index >= 0) this.waiting.splice(index, 1)
          refuse(signal.reason)
          this.pump()
        },
      }
      signal.addEventListener("abort", waiter.onAbort, { once: true })
      this.waiting.push(waiter)
      this.pump()
    })
  }

  /** The provider said to wait (a 429 with `retry-after`): nobody starts a call before then. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.max(0, ms))
    this.pump()
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.refilledAt)
    this.refilledAt = now
    const { requestsPerMinute, tokensPerMinute } = this.limit
    if (requestsPerMinute !== undefined) this.requests = Math.min(requestsPerMinute, this.requests + (elapsed * requestsPerMinute) / 60_000)
    if (tokensPerMinute !== undefined) this.tokens = Math.min(tokensPerMinute, this.tokens + (elapsed * tokensPerMinute) / 60_000)
  }

  // How long until the head of the queue may start (0: now).
  private waitFor(head: Waiter, now: number): number {
    if (this.pausedUntil > now) return this.pausedUntil - now
    const { inFlight, requestsPerMinute, tokensPerMinute } = this.limit
    if (inFlight !== undefined && this.inFlightNow >= inFlight) return Number.POSITIVE_INFINITY
    if (requestsPerMinute !== undefined && this.requests < 1) return Math.ceil(((1 - this.requests) * 60_000) / requestsPerMinute)
    if (tokensPerMinute !== undefined) {
      // A request bigger than the whole budget would wait forever: it goes when the budget is full.
      const needed = Math.min(head.tokens, tokensPerMinute)
      if (this.tokens < needed) return Math.ceil(((needed - this.tokens) * 60_000) / tokensPerMinute)
    }
    return 0
  }

  private pump(): void {
    for (;;) {
      const head = this.waiting[0]
      if (head === undefined) return
      const now = Date.now()
      this.refill(now)
      const wait = this.waitFor(head, now)
      if (wait > 0) {
        if (Number.isFinite(wait)) this.wakeAt(now + wait)
        return
      }
      this.waiting.shift()
      head.signal.removeEventListener("abort", head.onAbort)
      this.start(head, now)
    }
  }

  private start(waiter: Waiter, now: number): void {
    this.inFlightNow += 1
    this.peak = Math.max(this.peak, this.inFlightNow)
    if (this.limit.requestsPerMinute !== undefined) this.requests -= 1
    if (this.limit.tokensPerMinute !== undefined) this.tokens -= waiter.tokens
    let released = false
    waiter.grant({
      queuedMs: now - waiter.enqueuedAt,
      release: (usedTokens) => {
        if (released) return
        released = true
        this.inFlightNow -= 1
        // The estimate is corrected by what the call used: the budget owes or gets back the difference.
        if (this.limit.tokensPerMinute !== undefined && usedTokens !== undefined) this.tokens -= usedTokens - waiter.tokens
        this.pump()
      },
    })
  }

  private wakeAt(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(
      () => {
        this.timer = undefined
        this.pump()
      },
      Math.max(0, at - Date.now()),
    )
    // A queue that only waits must not keep the process alive on its own.
    ;(this.timer as { unref?: () => void }).unref?.()
  }
}
