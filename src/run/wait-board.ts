// The decisions a run waits for inside fan-out (a parallel branch, a map item, a nested pipeline's
// human step), and whether anything else of the run can still progress. A wait never blocks its
// siblings: the run pauses (settles `awaiting-human`) only once no work is busy and some wait is
// open. Work counts as busy through a token held while it runs; a container (a map, a nested
// pipeline) gives its token back while only its children run, so their waits can make it quiet.

/** One decision the run waits for inside fan-out, at `path` (its journaled name). */
export interface OpenWait {
  /** The journaled name of the waiting step: `reviews[3]`, `brief.legal`, `refund.approval`. */
  readonly path: string
  readonly visit: number
  readonly prompt: string | undefined
  readonly deadline: number | null
  /** Checks a decision for this wait (the schema of its step); throws a DecisionError. */
  readonly check: (decision: unknown) => unknown
  /** Continues the waiting step with a checked decision (already journaled). */
  readonly deliver: (decision: unknown) => void
}

/** Work that holds the run busy while it runs; `release`/`hold` give the token back and take it again. */
export interface BusyToken {
  readonly release: () => void
  readonly hold: () => void
}

/**
 * A run's board of open waits and busy work (run/wait-board.ts).
 *
 * @example
 * const board = waitBoard(() => settle(board.open()))
 * const token = board.busy()
 * token.release()
 */
export interface WaitBoard {
  /** Takes a busy token (held from now). */
  readonly busy: () => BusyToken
  /** Opens a wait; the returned function closes it (decided, cancelled, or expired at its deadline: `expiredAt`). */
  readonly open: (wait: OpenWait) => (expiredAt?: number) => void
  /** The deadline of the wait at `path` that ended expired in this execution, if one did. */
  readonly expired: (path: string) => number | undefined
  /** The open waits, in the order they opened. */
  readonly waits: () => readonly OpenWait[]
  /** The open wait at `path`, if any. */
  readonly at: (path: string) => OpenWait | undefined
}

// Before the run is called quiet it must stay quiet over several turns of the event loop: a
// container starts its next child a few microtasks (or one scheduler hop) after the previous ended.
const settleTurns = 3

/**
 * Creates a board; `quiet` is called (once per quiet spell) when waits are open and nothing is busy.
 *
 * @example
 * const board = waitBoard((waits) => console.log(`paused on ${waits.map((wait) => wait.path).join(", ")}`))
 */
export const waitBoard = (quiet: (waits: readonly OpenWait[]) => void): WaitBoard => {
  const open = new Map<string, OpenWait>()
  const expired = new Map<string, number>()
  let busy = 0
  // Bumped by every change: a quiet spell that saw a change is not quiet.
  let generation = 0
  let checking = false
  const changed = () => {
    generation++
    if (busy > 0 || open.size === 0 || checking) return
    checking = true
    const seen = generation
    const turn = (left: number) =>
      setImmediate(() => {
        if (generation !== seen || busy > 0 || open.size === 0) {
          checking = false
          // Changed meanwhile and quiet again: look once more from here.
          if (busy === 0 && open.size > 0) changed()
          return
        }
        if (left > 1) return turn(left - 1)
        checking = false
        quiet([...open.values()])
      })
    turn(settleTurns)
  }
  return {
    busy: () => {
      let held = true
      busy++
      changed()
      return {
        release: () => {
          if (!held) return
          held = false
          busy--
          changed()
        },
        hold: () => {
          if (held) return
          held = true
          busy++
          changed()
        },
      }
    },
    open: (wait) => {
      open.set(wait.path, wait)
      changed()
      return (expiredAt) => {
        if (open.get(wait.path) !== wait) return
        open.delete(wait.path)
        if (expiredAt !== undefined) expired.set(wait.path, expiredAt)
        changed()
      }
    },
    expired: (path) => expired.get(path),
    waits: () => [...open.values()],
    at: (path) => open.get(path),
  }
}
