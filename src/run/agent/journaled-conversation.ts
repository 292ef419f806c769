// What an agent turn's model calls journal of its conversation: only the messages the journal
// does not hold yet, so an agent's journal grows with its turns, not with their square. The
// format is contract/model-calls.ts's; this file decides where each call continues from.
import type { RunEvent } from "../../contract/events.ts"
import { visitKey } from "../../contract/keys.ts"
import type { Message } from "../../contract/model.ts"
import { describeConversation } from "../../contract/model-calls.ts"
import type { RunServices } from "../services.ts"

/**
 * How many messages of a visit's conversation the journal already holds when turn `turn` asks the
 * model: those its previous turn was asked with (`askedWith`), which that turn's call journaled.
 * A previous turn that came from the journal (a resumed run) was journaled by another process,
 * perhaps before calls were kept linear: then only what the journal is known to hold counts.
 *
 * @example
 * const from = journaledFrom(services, "research", 1, 4, conversation.askedWith)
 */
export const journaledFrom = (services: RunServices, step: string, visit: number, turn: number, askedWith: number | undefined): number => {
  if (turn === 1) return 0
  const asked = askedWith ?? 0
  const key = visitKey(step, visit)
  if (services.replay?.turns?.has(`${key}#${turn - 1}`) !== true) return asked
  return Math.min(asked, services.replay.conversations?.get(key) ?? 0)
}

/**
 * The `record` an agent turn's model calls go through: each `model.called` of the turn gets its
 * `conversation` (the messages new since `from`, and what of it was `sent`), which the journal
 * keeps instead of the full messages; listeners still get those. Every call of the turn (retries,
 * fallbacks) describes the same part, so none depends on another having been journaled.
 *
 * @example
 * const record = recordingConversation(journal.record, conversation.messages, request.messages, from)
 */
export const recordingConversation = (
  record: (event: RunEvent) => void | Promise<void>,
  conversation: readonly Message[],
  sent: readonly Message[],
  from: number,
): ((event: RunEvent) => void | Promise<void>) => {
  let described: ReturnType<typeof describeConversation> | undefined
  return (event) => {
    if (event.type !== "model.called") return record(event)
    described ??= describeConversation(conversation, from, sent)
    return record({ ...event, conversation: described })
  }
}
