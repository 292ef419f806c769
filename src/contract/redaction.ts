import type { RunError } from "./errors.ts"
import type { RunEvent } from "./events.ts"

/**
 * What to hide from journals' call records, logs, spans, errors and run results. Values of
 * secret-named keys, anywhere in an object at any depth, are replaced by `"[redacted]"` (so a masked
 * value is told apart from an absent one); API keys, authorization values, `name=value` pairs whose
 * name says secret and URL passwords inside any string are masked with `***`.
 *
 * Key names are compared normalised: case, `_` and `-` do not count, so `apiKey`, `api_key`,
 * `API-KEY` and `ApiKey` are one name. {@link defaultRedactedKeys} are always masked, and so is
 * any key ending in one of their strongest words (`githubToken`, `dbPassword`, `stripeSecret`).
 * `keys` adds names; `allow` shows chosen names after all (an opt-out for data whose `token` is
 * not a credential, say; `allow: defaultRedactedKeys` shows every default name, and a key that
 * only ends like one stays masked unless allowed by its own name); `values` masks known secrets
 * by value wherever they appear in a string.
 *
 * Step outputs, decisions, the run input, an agent's turns and its tools' results stay in the
 * journal (and in snapshots) as they are: a resumed run replays them, so they must be exact
 * (protect them at rest with a journal `codec`). Everything an observer receives is redacted.
 *
 * @example
 * const redact: Redaction = { keys: ["ssn", "cardNumber"], allow: ["token"], values: [process.env.PARTNER_SECRET ?? ""] }
 */
export interface Redaction {
  /** More key names to mask, on top of {@link defaultRedactedKeys}. */
  readonly keys?: readonly string[]
  /** Default names to leave visible, exactly as named (normalised); names merely ending like them stay masked. */
  readonly allow?: readonly string[]
  /** Secret values to mask inside any string; values shorter than 8 characters are ignored (they would mask ordinary text). */
  readonly values?: readonly (string | undefined)[]
}

/**
 * The key names masked by default, as usually spelled; matching ignores case, `_` and `-`.
 *
 * @example
 * const defaultNamesShown: Redaction = { allow: defaultRedactedKeys } // `githubToken` is still masked
 */
export const defaultRedactedKeys: readonly string[] = [
  "apiKey",
  "x-api-key",
  "authorization",
  "proxy-authorization",
  "password",
  "passwd",
  "passphrase",
  "secret",
  "clientSecret",
  "secretAccessKey",
  "token",
  "accessToken",
  "refreshToken",
  "idToken",
  "sessionToken",
  "authToken",
  "cookie",
  "set-cookie",
  "privateKey",
  "credentials",
]

// A key ending in one of these is a credential whatever comes before (`githubToken`, `db_password`).
const secretEndings = ["password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "secretkey", "secretaccesskey"]

const marker = "[redacted]"

/**
 * The one spelling a key name is compared in: lower case, without `_` and `-`.
 *
 * @example
 * normalizeKey("X-Api_Key") // "xapikey"
 */
export const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, "")

const defaultNames = new Set(defaultRedactedKeys.map(normalizeKey))

// Which keys of a given spelling are masked: exact names, plus endings unless allowed by name.
const keyMatcher = (redaction: Redaction | undefined): ((key: string) => boolean) => {
  const added = (redaction?.keys ?? []).map(normalizeKey).filter((name) => name !== "")
  // A name both added and allowed is masked: hiding wins over showing.
  const allowed = new Set((redaction?.allow ?? []).map(normalizeKey).filter((name) => !added.includes(name)))
  const names = new Set([...[...defaultNames].filter((name) => !allowed.has(name)), ...added])
  // Objects repeat their keys (every event has `type`, `runId`, `step`): the answer is kept per
  // spelling, in a bounded cache so data keyed by ids cannot grow it without end.
  const cache = new Map<string, boolean>()
  return (key) => {
    let masked = cache.get(key)
    if (masked === undefined) {
      const name = normalizeKey(key)
      masked = names.has(name) || (!allowed.has(name) && secretEndings.some((ending) => name.endsWith(ending)))
      if (cache.size >= 1000) cache.clear()
      cache.set(key, masked)
    }
    return masked
  }
}

// Shaped secrets, masked in any string: keys (OpenAI/Anthropic `sk-…`, `pk-`, `rk-`), Authorization
// values, and a password inside a URL (`postgres://app:s3cret@db`). Each pattern starts only where
// its run of characters starts, so a long run (a base64 blob) is read once, not once per character.
const shapedSecrets: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "$1-***"],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 ***"],
  [/(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]+@/gi, "$1:***@"],
]
// `name: value`, `name=value`, `"name":"value"`: the name is judged like an object key. The value
// is read only after a secret name, and the scan goes on right after each separator, so a pair
// inside another's value (`refused: password=…`) is found too, in one pass.
const pairName = /(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9_-]*)["']?\s*[:=]\s*["']?/g
const pairValue = /[^\s"',;&()[\]{}]{4,}/y
const shownValue = /^(bearer|basic|\*\*\*)$/i
// Most strings name no secret at all: one cheap test spares them every replacement above.
const mayHoldSecret = /[skpr]k-|bearer|basic|key|token|secret|passw|passphrase|auth|cookie|credential|:\/\//i

const textMasker = (isSecretKey: (key: string) => boolean, values: readonly string[], extraWords: RegExp | undefined) => {
  const maskPairs = (text: string): string => {
    let masked = ""
    let copied = 0
    pairName.lastIndex = 0
    for (let pair = pairName.exec(text); pair !== null; pair = pairName.exec(text)) {
      if (!isSecretKey(pair[1] as string)) continue
      pairValue.lastIndex = pairName.lastIndex
      const value = pairValue.exec(text)
      // "Authorization: Bearer ***": the shaped pattern has masked it already.
      if (value === null || shownValue.test(value[0])) continue
      masked += `${text.slice(copied, pairName.lastIndex)}***`
      copied = pairName.lastIndex = pairValue.lastIndex
    }
    return copied === 0 ? text : masked + text.slice(copied)
  }
  return (text: string): string => {
    let masked = text
    for (const value of values) if (masked.includes(value)) masked = masked.replaceAll(value, "***")
    if (masked.length < 8 || !(mayHoldSecret.test(masked) || (extraWords?.test(masked) ?? false))) return masked
    for (const [pattern, replacement] of shapedSecrets) masked = masked.replace(pattern, replacement)
    return maskPairs(masked)
  }
}

const escapeForPattern = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * Masks API keys, authorization values, secret-named `name=value` pairs and URL passwords in text
 * that may reach logs, journals, errors or a terminal (the default names; a run's own `redact`
 * applies on top through {@link redactor}). The one masker of the project: providers, observers
 * and the CLI all use it.
 *
 * @example
 * redactSecrets("Incorrect API key provided: sk-abc123456789") // "Incorrect API key provided: sk-***"
 */
export const redactSecrets: (text: string) => string = textMasker(keyMatcher(undefined), [], undefined)

/**
 * A deep copy of `value` with secret-named keys replaced by `"[redacted]"` and secrets in strings
 * masked, as a {@link Redaction} says (the defaults when none is given).
 *
 * @example
 * redactValue({ user: "ada", apiKey: "k-123" }) // { user: "ada", apiKey: "[redacted]" }
 */
export const redactValue = (value: unknown, redaction?: Redaction): unknown => valueMasker(redaction).walk(value)

const valueMasker = (redaction: Redaction | undefined) => {
  const isSecretKey = keyMatcher(redaction)
  const values = (redaction?.values ?? []).filter((value): value is string => typeof value === "string" && value.length >= 8)
  const userKeys = (redaction?.keys ?? []).map(normalizeKey).filter((key) => key !== "")
  // A `keys` name the cheap test does not know (`ssn`) must still wake the `name=value` masking.
  const extraWords = userKeys.length === 0 ? undefined : new RegExp(userKeys.map(escapeForPattern).join("|"), "i")
  const maskText = textMasker(isSecretKey, values, extraWords)
  const walk = (value: unknown): unknown => {
    if (typeof value === "string") return maskText(value)
    if (value === null || typeof value !== "object") return value
    if (Array.isArray(value)) return value.map(walk)
    const copy: Record<string, unknown> = {}
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const field = (value as Record<string, unknown>)[key]
      // Absence and booleans say nothing secret: they stay as they are, so "[redacted]" always means a value was there.
      copy[key] = field === null || field === undefined || typeof field === "boolean" || !isSecretKey(key) ? walk(field) : marker
    }
    return copy
  }
  return { walk, maskText }
}

/**
 * How one run redacts what it journals, what its observers see and what it returns, from its
 * `redact` option (defaults included).
 *
 * @example
 * const redaction = redactor({ keys: ["ssn"] })
 * redaction.error({ _tag: "StepCodeError", step: "charge", retryable: false, message: "declined: token=tok_4242424242" }).message // "declined: token=***"
 */
export const redactor = (redaction?: Redaction) => {
  const { walk, maskText } = valueMasker(redaction)
  return {
    /** For the journal: call records and errors, never what a resume replays. */
    journal: (event: RunEvent): RunEvent => {
      switch (event.type) {
        case "tool.called":
          // An agent's tool result is replayed by a resume (the model is not asked again): kept exact.
          if (event.callId !== undefined) {
            const { error, ...call } = event
            return { ...call, args: walk(event.args), ...(error === undefined ? {} : { error: walk(error) as RunError }) } as RunEvent
          }
          return walk(event) as RunEvent
        case "model.called":
        case "model.repair":
          return walk(event) as RunEvent
        case "step.failed":
        case "step.retried":
        case "model.fallback":
          return { ...event, error: walk(event.error) as RunError }
        case "run.finished":
          return event.error === undefined ? event : { ...event, error: walk(event.error) as RunError }
        default:
          return event
      }
    },
    /** For the run result: its error, redacted as the journal redacts it (stack, cause and fields included). */
    error: (error: RunError): RunError => walk(error) as RunError,
    /**
     * For a persisted snapshot: every run error in it (the run's, a routed step's, a branch's)
     * redacted as the journal redacts errors; everything else exact, since a resume continues
     * from it. Containers without an error are kept as they are, not copied.
     */
    snapshot: (snapshot: unknown): unknown => errorsRedacted(snapshot, walk),
    /** For observers (logs, spans, progress): everything. */
    full: (event: RunEvent): RunEvent => (event.type === "model.delta" ? { ...event, text: maskText(event.text) } : (walk(event) as RunEvent)),
  }
}

// A run error as the run layer keeps it: a tag naming an error, and a message.
const isRunError = (value: Record<string, unknown>): boolean =>
  typeof value["_tag"] === "string" && value["_tag"].endsWith("Error") && typeof value["message"] === "string"

const errorsRedacted = (value: unknown, redactError: (error: unknown) => unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined
    value.forEach((item, index) => {
      const redacted = errorsRedacted(item, redactError)
      if (redacted !== item) (copy ??= [...value])[index] = redacted
    })
    return copy ?? value
  }
  const prototype = Object.getPrototypeOf(value)
  if (prototype !== Object.prototype && prototype !== null) return value
  const record = value as Record<string, unknown>
  if (isRunError(record)) return redactError(record)
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(record)) {
    const redacted = errorsRedacted(record[key], redactError)
    if (redacted !== record[key]) (copy ??= { ...record })[key] = redacted
  }
  return copy ?? value
}

/** What {@link redactor} returns: how one run redacts what it journals, shows and returns. */
export type Redactor = ReturnType<typeof redactor>
