import { isRetryableReason, ModelError, type ModelErrorReason } from "../contract/errors.ts"
import type { GenerateOptions, Model, ModelRequest, ModelResponse, ToolCall, Usage } from "../contract/model.ts"

/**
 * One scripted reply: text, an object (sent as JSON), tool calls (an agent's next action; `id`
 * defaults to `call_<call>_<index>`), a failure, or a function of the request.
 * `delayMs` waits (on the global timers, so fake timers drive it) before answering.
 *
 * @example
 * const replies: ScriptedReply[] = [
 *   { fail: "rate-limited", retryAfterMs: 2000 },
 *   { object: { kind: "refund" }, delayMs: 20 },
 *   "plain text",
 * ]
 */
export type ScriptedReply =
  | string
  | { readonly text: string; readonly delayMs?: number; readonly usage?: Usage }
  | { readonly object: unknown; readonly delayMs?: number; readonly usage?: Usage }
  | {
      readonly toolCalls: ReadonlyArray<{ readonly id?: string; readonly name: string; readonly arguments: unknown }>
      readonly text?: string
      readonly delayMs?: number
      readonly usage?: Usage
    }
  | { readonly fail: ModelErrorReason; readonly retryAfterMs?: number; readonly status?: number; readonly message?: string; readonly delayMs?: number }
  | { readonly hang: true }
  | ((request: ModelRequest, call: number) => ScriptedReply | Promise<ScriptedReply>)

/** One call the scripted model received. */
export interface ScriptedCall {
  readonly request: ModelRequest
  /** Whether the caller's signal aborted the call. */
  aborted: boolean
  readonly startedAt: number
}

/**
 * A model for tests and offline demos: answers from a script, in order, and records every call.
 *
 * @example
 * const model = scriptedModel([{ object: { kind: "bug", confidence: 0.9 } }, "Thanks, we are on it."])
 * await triage.run({ ticket: "It crashes" }, { models: { fast: model } })
 * model.calls.length // 2
 */
export interface ScriptedModel extends Model {
  readonly calls: readonly ScriptedCall[]
  /** Replies not yet used. */
  readonly remaining: number
}

/**
 * Creates a scripted model. With `repeat: true` the last reply answers every call after the
 * script runs out; otherwise an extra call fails with `invalid-request` naming the call number.
 *
 * @example
 * const fast = scriptedModel(["positive"], { name: "fast" })
 */
export const scriptedModel = (
  script: readonly ScriptedReply[],
  options: { readonly name?: string; readonly repeat?: boolean; readonly usage?: Usage } = {},
): ScriptedModel => {
  const calls: ScriptedCall[] = []
  const model = options.name ?? "scripted"
  let next = 0
  const failure = (reason: ModelErrorReason, message: string, extra: { retryAfterMs?: number; status?: number } = {}) =>
    new ModelError({ provider: "scripted", model, reason, retryable: isRetryableReason(reason), message, ...extra })

  const resolveReply = async (reply: ScriptedReply, request: ModelRequest, call: number): Promise<Exclude<ScriptedReply, Function>> =>
    typeof reply === "function" ? resolveReply(await reply(request, call), request, call) : reply

  return {
    provider: "scripted",
    model,
    calls,
    get remaining() {
      return Math.max(0, script.length - next)
    },
    async generate(request: ModelRequest, { signal, onDelta }: GenerateOptions): Promise<ModelResponse> {
      const record: ScriptedCall = { request, aborted: false, startedAt: Date.now() }
      calls.push(record)
      const call = calls.length
      const scripted = next < script.length ? script[next++] : options.repeat === true ? script.at(-1) : undefined
      if (scripted === undefined)
        throw failure("invalid-request", `scripted model "${model}": no reply scripted for call ${call} (script has ${script.length})`)
      const reply = await resolveReply(scripted, request, call)
      const delayMs = typeof reply === "object" && "delayMs" in reply ? (reply.delayMs ?? 0) : 0
      const hang = typeof reply === "object" && "hang" in reply
      if (delayMs > 0 || hang) await wait(hang ? undefined : delayMs, signal, record)
      if (signal.aborted) {
        record.aborted = true
        throw signal.reason
      }
      if (typeof reply === "string") {
        streamWords(reply, onDelta)
        return { text: reply, ...(options.usage === undefined ? {} : { usage: options.usage }) }
      }
      if ("fail" in reply) {
        throw failure(reply.fail, reply.message ?? `scripted ${reply.fail}`, {
          ...(reply.retryAfterMs === undefined ? {} : { retryAfterMs: reply.retryAfterMs }),
          ...(reply.status === undefined ? {} : { status: reply.status }),
        })
      }
      if ("hang" in reply) throw failure("unknown", "unreachable: hang ended without abort")
      const usage = reply.usage ?? options.usage
      if ("toolCalls" in reply) {
        const toolCalls: ToolCall[] = reply.toolCalls.map((toolCall, index) => ({
          id: toolCall.id ?? `call_${call}_${index}`,
          name: toolCall.name,
          arguments: toolCall.arguments,
        }))
        return { text: reply.text ?? "", toolCalls, finishReason: "tool-calls", ...(usage === undefined ? {} : { usage }) }
      }
      const text = "text" in reply ? reply.text : JSON.stringify(reply.object)
      streamWords(text, onDelta)
      return { text, ...(usage === undefined ? {} : { usage }) }
    },
  }
}

// A streaming caller gets the answer word by word, as a provider would send it.
const streamWords = (text: string, onDelta: ((text: string) => void) | undefined) => {
  if (onDelta === undefined) return
  for (const piece of text.match(/\S+\s*|\s+/g) ?? []) onDelta(piece)
}

const wait = (ms: number | undefined, signal: AbortSignal, record: ScriptedCall) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      record.aborted = true
      reject(signal.reason)
      return
    }
    const timer =
      ms === undefined
        ? undefined
        : setTimeout(() => {
            signal.removeEventListener("abort", onAbort)
            resolve()
          }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      record.aborted = true
      reject(signal.reason)
    }
    signal.addEventListener("abort", onAbort, { once: true })
  })
