// The behaviour of `journal.tail`, run against each store.
import { expect, it } from "vitest"
import type { Journal, TailedEntry } from "../../src/index.ts"
import { started, stepStarted } from "./journal-contract.ts"

/** Reads `count` entries from `entries`, failing after `timeoutMs` instead of hanging. */
export const take = async (entries: AsyncIterator<TailedEntry>, count: number, timeoutMs = 5000): Promise<TailedEntry[]> => {
  const taken: TailedEntry[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms with ${taken.length} of ${count} entries`)), timeoutMs)
  })
  try {
    while (taken.length < count) {
      const next = await Promise.race([entries.next(), timeout])
      if (next.done === true) throw new Error(`the tail ended after ${taken.length} of ${count} entries`)
      taken.push(next.value)
    }
  } finally {
    clearTimeout(timer)
  }
  return taken
}

const tailOf = (journal: Journal) => {
  if (journal.tail === undefined) throw new Error("this journal has no tail")
  return journal.tail.bind(journal)
}

/** Every journal with a tail: `open()` gives a fresh, empty one. */
export const tailContract = (open: () => Journal | Promise<Journal>) => {
  it("catches up on a run after afterSeq, then follows its new entries live, and ends when the signal aborts", async () => {
    const journal = await open()
    await journal.append(started("r1"))
    await journal.append(stepStarted("r1", 1))
    await journal.append(started("other"))
    const controller = new AbortController()
    const entries = tailOf(journal)({ runId: "r1", afterSeq: 0, signal: controller.signal })[Symbol.asyncIterator]()
    const [caughtUp] = await take(entries, 1)
    expect(caughtUp).toMatchObject({ runId: "r1", seq: 1, type: "step.started" })
    const pending = take(entries, 2)
    await journal.append(stepStarted("other", 1))
    await journal.append(stepStarted("r1", 2, "answer"))
    await journal.append(stepStarted("r1", 3, "reply"))
    const live = await pending
    expect(live.map((entry) => [entry.runId, entry.seq, entry.type])).toEqual([
      ["r1", 2, "step.started"],
      ["r1", 3, "step.started"],
    ])
    expect(live[0]).toMatchObject(stepStarted("r1", 2, "answer"))
    const waiting = entries.next()
    controller.abort()
    expect(await waiting).toEqual({ done: true, value: undefined })
  })

  it("follows every run in commit order by position, and resumes after a position", async () => {
    const journal = await open()
    await journal.append(started("a"))
    await journal.append(started("b"))
    await journal.append(stepStarted("a", 1))
    const controller = new AbortController()
    const all = tailOf(journal)({ signal: controller.signal })[Symbol.asyncIterator]()
    const first = await take(all, 3)
    expect(first.map((entry) => `${entry.runId}:${entry.seq}`)).toEqual(["a:0", "b:0", "a:1"])
    const positions = first.map((entry) => entry.position)
    expect([...positions].sort((left, right) => left - right)).toEqual(positions)
    expect(new Set(positions).size).toBe(3)
    const pending = take(all, 1)
    await journal.append(stepStarted("b", 1))
    expect((await pending).map((entry) => `${entry.runId}:${entry.seq}`)).toEqual(["b:1"])
    controller.abort()
    // A reconnecting reader starts after the last position it saw.
    const resumed = new AbortController()
    const rest = await take(tailOf(journal)({ afterPosition: first[1]?.position ?? 0, signal: resumed.signal })[Symbol.asyncIterator](), 2)
    expect(rest.map((entry) => `${entry.runId}:${entry.seq}`)).toEqual(["a:1", "b:1"])
    resumed.abort()
  })

  it("ends at once for an aborted signal, stops following when the loop breaks, and refuses afterSeq without a run", async () => {
    const journal = await open()
    await journal.append(started("r1"))
    const aborted = new AbortController()
    aborted.abort()
    const none: TailedEntry[] = []
    for await (const entry of tailOf(journal)({ runId: "r1", signal: aborted.signal })) none.push(entry)
    expect(none).toEqual([])
    const seen: number[] = []
    for await (const entry of tailOf(journal)({ runId: "r1" })) {
      seen.push(entry.seq)
      break
    }
    expect(seen).toEqual([0])
    await journal.append(stepStarted("r1", 1))
    expect(() => tailOf(journal)({ afterSeq: 1 })).toThrow(/afterSeq is a run's seq and needs a runId/)
    expect(() => tailOf(journal)({ runId: "r1", afterSeq: 1.5 })).toThrow(/afterSeq must be an integer >= -1, got 1.5/)
  })
}
