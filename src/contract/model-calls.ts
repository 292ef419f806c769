// The messages of a model call, as the journal keeps them and as readers get them back. An agent
// sends its whole conversation every turn; journaling that each time made a journal grow with the
// square of the turns. A journaled agent call instead holds only what its visit's conversation
// gained since the call before (`conversation`, see contract/events.ts), and every reader of
// journaled calls (show, the eval replay, OTel, tests) rebuilds full messages with this file.
import type { ModelCallConversation, RunEvent } from "./events.ts"
import type { Message } from "./model.ts"

/**
 * A `model.called` event or journal entry.
 *
 * @example
 * const calls = (entries: readonly JournalEntry[]) => entries.filter((entry): entry is JournalEntry & ModelCall => entry.type === "model.called")
 */
export type ModelCall = Extract<RunEvent, { type: "model.called" }>

/**
 * A model call whose messages could not be rebuilt: the journal lacks the earlier calls it
 * continues (`incomplete`: entries cut off, reordered or of another run), or the call asked for is
 * not among the entries given (`not-found`).
 *
 * @example
 * try { messagesOfCall(entries, call) } catch (error) { if (error instanceof ConversationReadError) console.error(error.message) }
 */
export class ConversationReadError extends Error {
  override readonly name = "ConversationReadError"
  readonly reason: "incomplete" | "not-found"
  readonly runId: string
  readonly step: string
  readonly visit: number

  constructor(reason: ConversationReadError["reason"], call: ModelCall, problem: string) {
    const turn = call.turn === undefined ? "" : `, turn ${call.turn}`
    super(`cannot rebuild the messages of a model call of run "${call.runId}", step "${call.step}" (visit ${call.visit}${turn}): ${problem}`)
    this.reason = reason
    this.runId = call.runId
    this.step = call.step
    this.visit = call.visit
  }
}

const isRange = (part: readonly [number, number] | Message): part is readonly [number, number] => Array.isArray(part)

/**
 * Describes an agent's call for the journal: `conversation` is the visit's whole conversation
 * now, `from` how many of its messages the journal already holds (in the visit's earlier calls),
 * `sent` what the model got. Messages of `sent` that are the very objects of `conversation` (as
 * history trimming keeps them) become index ranges; any other message is kept as it is.
 *
 * @example
 * describeConversation(conversation, 3, trimHistory(conversation, 8_000)) // { from: 3, added: [...], sent: [[0, 1], [5, 9]] }
 */
export const describeConversation = (conversation: readonly Message[], from: number, sent: readonly Message[]): ModelCallConversation => {
  const added = conversation.slice(from)
  if (sent === conversation) return { from, added }
  const positions = new Map<Message, number>()
  conversation.forEach((message, index) => {
    if (!positions.has(message)) positions.set(message, index)
  })
  const parts: Array<[number, number] | Message> = []
  for (const message of sent) {
    const index = positions.get(message)
    const last = parts.at(-1)
    if (index === undefined) parts.push(message)
    else if (last !== undefined && isRange(last) && last[1] === index) last[1] = index + 1
    else parts.push([index, index + 1])
  }
  const first = parts[0]
  const whole =
    (parts.length === 0 && conversation.length === 0) ||
    (parts.length === 1 && first !== undefined && isRange(first) && first[0] === 0 && first[1] === conversation.length)
  return whole ? { from, added } : { from, added, sent: parts }
}

/**
 * What the journal keeps of an event: an agent's call without its full `messages` (its
 * `conversation` says the same, linearly); every other event as it is. Listeners get the event.
 *
 * @example
 * await journal.append({ ...journalFormOf(event), seq })
 */
export const journalFormOf = (event: RunEvent): RunEvent => {
  if (event.type !== "model.called" || event.conversation === undefined || event.messages === undefined) return event
  const { messages: _inFull, ...journaled } = event
  return journaled
}

/**
 * Rebuilds model calls' messages one call at a time, in journal order: it keeps each agent
 * visit's conversation as its calls describe it. Give it every call of a run, in order (events
 * as a listener gets them, or journal entries); `forget` drops what it keeps of a run.
 *
 * @example
 * const reader = modelCallReader()
 * const observer = (event: RunEvent) => event.type === "model.called" && console.log(reader.messagesOf(event).length)
 */
export interface ModelCallReader {
  readonly messagesOf: (call: ModelCall) => readonly Message[]
  readonly forget: (runId: string) => void
}

/**
 * Creates a {@link ModelCallReader}.
 *
 * @example
 * const reader = modelCallReader()
 */
export const modelCallReader = (): ModelCallReader => {
  const conversations = new Map<string, Map<string, Message[]>>()
  const visitsOf = (runId: string) => {
    let visits = conversations.get(runId)
    if (visits === undefined) conversations.set(runId, (visits = new Map()))
    return visits
  }
  return {
    messagesOf: (call) => {
      const visits = visitsOf(call.runId)
      const key = `${call.step}#${call.visit}`
      const described = call.conversation
      if (described === undefined) {
        // A journal written before agent calls were kept linear holds each call's whole prompt;
        // a call journaled after an upgrade may continue it.
        if (call.turn !== undefined && call.messages !== undefined) visits.set(key, [...call.messages])
        return call.messages ?? []
      }
      const known = visits.get(key) ?? []
      if (described.from > known.length) {
        throw new ConversationReadError(
          "incomplete",
          call,
          `it continues a conversation of ${described.from} messages, but the earlier calls of that visit hold ${known.length} (pass every entry of the run, in order)`,
        )
      }
      known.length = described.from
      for (const message of described.added) known.push(message)
      visits.set(key, known)
      if (call.messages !== undefined) return call.messages
      if (described.sent === undefined) return known.slice()
      const sent: Message[] = []
      for (const part of described.sent) {
        if (!isRange(part)) sent.push(part)
        else if (part[0] < 0 || part[1] > known.length || part[0] > part[1])
          throw new ConversationReadError("incomplete", call, `it was sent messages ${part[0]}–${part[1]} of a conversation of ${known.length}`)
        else for (let index = part[0]; index < part[1]; index++) sent.push(known[index] as Message)
      }
      return sent
    },
    forget: (runId) => {
      conversations.delete(runId)
    },
  }
}

// Journal entries carry `seq`; events collected from a listener are in order already.
const inJournalOrder = <TEntry extends RunEvent>(entries: readonly TEntry[]): readonly TEntry[] => {
  const seqOf = (entry: TEntry) => (entry as { readonly seq?: unknown }).seq
  if (!entries.every((entry) => typeof seqOf(entry) === "number")) return entries
  for (let index = 1; index < entries.length; index++) {
    if ((seqOf(entries[index] as TEntry) as number) < (seqOf(entries[index - 1] as TEntry) as number))
      return [...entries].sort((left, right) => (seqOf(left) as number) - (seqOf(right) as number))
  }
  return entries
}

/** A model call with its messages in full. */
export type FullModelCall<TEntry extends RunEvent = RunEvent> = Extract<TEntry, { type: "model.called" }> & { readonly messages: readonly Message[] }

/**
 * Every model call of a journal (or of events a listener collected), in order, each with the full
 * messages it sent: what the model got, whether the journal kept them whole (old journals, `llm`
 * steps) or as a conversation's new part (agent turns). Throws a {@link ConversationReadError}
 * when entries it needs are missing.
 *
 * @example
 * for (const call of fullModelCalls(await journal.read(runId))) console.log(call.step, call.messages.length)
 */
export const fullModelCalls = <TEntry extends RunEvent>(entries: readonly TEntry[]): Array<FullModelCall<TEntry>> => {
  const reader = modelCallReader()
  const calls: Array<FullModelCall<TEntry>> = []
  for (const entry of inJournalOrder(entries)) {
    if (entry.type === "model.called") calls.push({ ...entry, messages: reader.messagesOf(entry) } as FullModelCall<TEntry>)
  }
  return calls
}

// Per entries array: each call's messages, or why they cannot be rebuilt (asked for only then).
const rebuilt = new WeakMap<readonly RunEvent[], Map<RunEvent, readonly Message[] | ConversationReadError>>()

/**
 * The full messages one model call sent, rebuilt from the entries of its run (`call` is one of
 * them). Reading many calls of the same array is cheap: the array is read once. Throws a
 * {@link ConversationReadError} when the entries lack what this call continues.
 *
 * @example
 * const call = entries.find((entry) => entry.type === "model.called" && entry.turn === 40)
 * if (call?.type === "model.called") console.log(messagesOfCall(entries, call))
 */
export const messagesOfCall = (entries: readonly RunEvent[], call: ModelCall): readonly Message[] => {
  let byCall = rebuilt.get(entries)
  if (byCall === undefined) {
    byCall = new Map()
    const reader = modelCallReader()
    for (const entry of inJournalOrder(entries)) {
      if (entry.type !== "model.called") continue
      try {
        byCall.set(entry, reader.messagesOf(entry))
      } catch (error) {
        if (!(error instanceof ConversationReadError)) throw error
        byCall.set(entry, error)
      }
    }
    rebuilt.set(entries, byCall)
  }
  let found = byCall.get(call)
  const seq = (call as { readonly seq?: unknown }).seq
  if (found === undefined && typeof seq === "number") {
    for (const [entry, messages] of byCall) if ((entry as { readonly seq?: unknown }).seq === seq && entry.runId === call.runId) found = messages
  }
  if (found instanceof ConversationReadError) throw found
  if (found !== undefined) return found
  if (call.conversation === undefined && call.messages !== undefined) return call.messages
  throw new ConversationReadError("not-found", call, "it is not one of the entries given")
}
