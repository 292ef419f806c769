import type { RunError } from "./errors.ts"
import type { RunEvent } from "./events.ts"

/**
 * What to hide from journals' call records, logs, spans and errors: values of the named keys
 * (anywhere in an object, any depth, case-insensitive) are replaced by `"[redacted]"`, and API
 * keys and authorization values inside any string are masked.
 *
 * Step outputs, decisions and the run input stay in the journal as they are: a resumed run
 * replays them, so they must be exact. Everything else an observer receives is redacted.
 *
 * @example
 * const redact: Redaction = { keys: ["password", "ssn", "cardNumber"] }
 */
export interface Redaction {
  readonly keys?: readonly string[]
}

const marker = "[redacted]"

// Provider errors and logs can echo credentials: keys (OpenAI/Anthropic `sk-…`, `pk-`, `rk-`),
// Authorization values, and `name: value` / `name=value` pairs whose name says secret.
const secretPatterns: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "$1-***"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***"],
  [/\b(api[_-]?key|x-api-key|authorization)(["'\s:=]+)[^\s"',]{8,}/gi, "$1$2***"],
  [/\b(api[_-]?key|token|secret|password|authorization)(["']?\s*[:=]\s*["']?)[^\s"',;&()[\]{}]{4,}/gi, "$1$2***"],
]

/**
 * Masks API keys and authorization values in text that may reach logs, journals, errors or a
 * terminal. The one masker of the project: providers, observers and the CLI all use it.
 *
 * @example
 * redactSecrets("Incorrect API key provided: sk-abc123456789") // "Incorrect API key provided: sk-***"
 */
export const redactSecrets = (text: string): string => secretPatterns.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text)

/** Deep-copies a value with marked keys replaced and secrets in strings masked. */
export const redactValue = (value: unknown, keys: ReadonlySet<string>): unknown => {
  if (typeof value === "string") return redactSecrets(value)
  if (Array.isArray(value)) return value.map((item) => redactValue(item, keys))
  if (value === null || typeof value !== "object") return value
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, keys.has(key.toLowerCase()) ? marker : redactValue(field, keys)]))
}

/** A redactor of run events; `full` also covers step outputs, decisions and input (for logs and spans). */
export const redactor = (redaction: Redaction | undefined) => {
  const keys = new Set((redaction?.keys ?? []).map((key) => key.toLowerCase()))
  return {
    /** For the journal: call records and errors only, never what a resume replays. */
    journal: (event: RunEvent): RunEvent => {
      switch (event.type) {
        case "model.called":
        case "tool.called":
        case "model.repair":
          return redactValue(event, keys) as RunEvent
        case "step.failed":
        case "step.retried":
        case "model.fallback":
          return { ...event, error: redactValue(event.error, keys) as RunError }
        case "run.finished":
          return event.error === undefined ? event : { ...event, error: redactValue(event.error, keys) as RunError }
        default:
          return event
      }
    },
    /** For the run result: its error, redacted as the journal redacts it (stack, cause and fields included). */
    error: (error: RunError): RunError => redactValue(error, keys) as RunError,
    /** For observers (logs, spans, progress): everything. */
    full: (event: RunEvent): RunEvent =>
      event.type === "model.delta" ? { ...event, text: redactSecrets(event.text) } : (redactValue(event, keys) as RunEvent),
  }
}

/** What {@link redactor} returns: how one run redacts what it journals, shows and returns. */
export type Redactor = ReturnType<typeof redactor>
