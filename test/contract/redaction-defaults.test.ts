import { describe, expect, it } from "vitest"
import { normalizeKey, redactor, redactValue } from "../../src/contract/redaction.ts"
import { defaultRedactedKeys, type RunEvent, redactSecrets } from "../../src/index.ts"

const runId = "r1"
const toolCall = (args: unknown, extra: Partial<Extract<RunEvent, { type: "tool.called" }>> = {}): RunEvent => ({
  type: "tool.called",
  runId,
  step: "charge",
  visit: 1,
  tool: "charge",
  args,
  result: { status: "ok" },
  durationMs: 1,
  at: 1,
  ...extra,
})

describe("default redaction", () => {
  it("masks the usual secret names in any spelling, at any depth, with no option given", () => {
    const spellings = {
      apiKey: "v1",
      api_key: "v2",
      "API-KEY": "v3",
      ApiKey: "v4",
      "x-api-key": "v5",
      Authorization: "v6",
      password: "v7",
      passwd: "v8",
      secret: "v9",
      client_secret: "v10",
      token: "v11",
      accessToken: "v12",
      access_token: "v13",
      refreshToken: "v14",
      refresh_token: "v15",
      idToken: "v16",
      cookie: "v17",
      "Set-Cookie": "v18",
      privateKey: "v19",
      sessionToken: "v20",
    }
    const redacted = redactValue({ outer: [{ inner: spellings }] }) as { outer: [{ inner: Record<string, unknown> }] }
    expect(redacted.outer[0].inner).toEqual(Object.fromEntries(Object.keys(spellings).map((key) => [key, "[redacted]"])))
    // every default name is masked under its own spelling too
    expect(redactValue(Object.fromEntries(defaultRedactedKeys.map((key) => [key, "x"])))).toEqual(
      Object.fromEntries(defaultRedactedKeys.map((key) => [key, "[redacted]"])),
    )
  })

  it("masks keys ending in a credential word, and leaves look-alikes that are not credentials", () => {
    expect(
      redactValue({ githubToken: "g", db_password: "p", stripeSecret: "s", inputTokens: 120, max_tokens: 4096, tokenizer: "cl100k", keyboard: "qwerty" }),
    ).toEqual({
      githubToken: "[redacted]",
      db_password: "[redacted]",
      stripeSecret: "[redacted]",
      inputTokens: 120,
      max_tokens: 4096,
      tokenizer: "cl100k",
      keyboard: "qwerty",
    })
  })

  it("tells a masked value from an absent one", () => {
    expect(redactValue({ apiKey: "k", token: null, password: undefined, hasSecret: true })).toEqual({ apiKey: "[redacted]", token: null, hasSecret: true })
    expect(Object.hasOwn(redactValue({ password: undefined }) as object, "password")).toBe(true)
  })

  it("masks secret-named pairs, bearer values and URL passwords inside strings", () => {
    expect(redactSecrets("retry with access_token=ya29.a0AfH6 and client_secret: 9f8e7d6c")).toBe("retry with access_token=*** and client_secret: ***")
    expect(redactSecrets('body {"password":"hunter2!"} sent')).toBe('body {"password":"***"} sent')
    expect(redactSecrets("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x")).toBe("Authorization: Bearer ***")
    expect(redactSecrets("connect postgres://app:s3cret@db:5432/app failed")).toBe("connect postgres://app:***@db:5432/app failed")
    expect(redactSecrets("max_tokens: 4096 exceeded; inputTokens=120")).toBe("max_tokens: 4096 exceeded; inputTokens=120")
  })

  it("reads long strings with many separators or one long run once, not once per character", { timeout: 5000 }, () => {
    // Each would take minutes if a pattern restarted inside a run or re-read each value.
    const runs = ["key ".concat("QUJDRA".repeat(100_000)), "a=".repeat(100_000), "http ".concat("a.".repeat(100_000)), "token".concat(":a".repeat(100_000))]
    for (const text of runs) expect(redactSecrets(text).length).toBeGreaterThan(0)
    expect(redactSecrets(`${"a=".repeat(50_000)} password=hunter2hunter2`)).toMatch(/ password=\*\*\*$/)
  })

  it("normalises a key name by case, '_' and '-'", () => {
    expect(["apiKey", "api_key", "API-KEY", "Api_Key"].map(normalizeKey)).toEqual(["apikey", "apikey", "apikey", "apikey"])
  })
})

describe("redact options", () => {
  it("adds names to the defaults, in every spelling, also inside strings", () => {
    const redaction = redactor({ keys: ["ssn", "cardNumber"] })
    const journaled = redaction.journal(toolCall({ ssn: "123-45-6789", card_number: "4242", apiKey: "k", note: "ssn=123-45-6789" }))
    expect(journaled).toMatchObject({ args: { ssn: "[redacted]", card_number: "[redacted]", apiKey: "[redacted]", note: "ssn=***" } })
  })

  it("shows allowed default names after all, but still masks longer names that end like them", () => {
    const allowed = redactValue({ token: "next-word", pageToken: "abc", githubToken: "ghp" }, { allow: ["token", "page_token"] })
    expect(allowed).toEqual({ token: "next-word", pageToken: "abc", githubToken: "[redacted]" })
    // allowing every default name shows them; a name both added and allowed stays masked
    expect(redactValue({ apiKey: "k", ssn: "1" }, { allow: [...defaultRedactedKeys, "ssn"], keys: ["ssn"] })).toEqual({ apiKey: "k", ssn: "[redacted]" })
  })

  it("masks known secret values wherever they appear in a string, ignoring values too short to be secrets", () => {
    const redaction = redactor({ values: ["opaque-partner-credential", "abc", undefined] })
    const error = redaction.error({ _tag: "StepCodeError", step: "sync", retryable: false, message: "partner said opaque-partner-credential is revoked (abc)" })
    expect(error.message).toBe("partner said *** is revoked (abc)")
  })
})

describe("redactor", () => {
  it("journals call records redacted and keeps what a resume replays exact", () => {
    const redaction = redactor(undefined)
    const started: RunEvent = { type: "run.started", runId, pipeline: "p", input: { apiKey: "in-the-input" }, at: 1 }
    const finished: RunEvent = {
      type: "step.finished",
      runId,
      step: "s",
      visit: 1,
      output: { token: "an-output" },
      next: "done",
      attempts: 1,
      durationMs: 1,
      at: 1,
    }
    expect(redaction.journal(started)).toBe(started)
    expect(redaction.journal(finished)).toBe(finished)
    expect(redaction.journal(toolCall({ apiKey: "k" }))).toMatchObject({ args: { apiKey: "[redacted]" } })
    // an agent's tool result is replayed on resume: exact; its arguments are not replayed: masked
    const agentCall = redaction.journal(toolCall({ apiKey: "k" }, { callId: "c1", turn: 1, result: { token: "replayed" } }))
    expect(agentCall).toMatchObject({ args: { apiKey: "[redacted]" }, result: { token: "replayed" } })
    // observers see everything redacted
    expect(redaction.full(started)).toMatchObject({ input: { apiKey: "[redacted]" } })
    expect(redaction.full(finished)).toMatchObject({ output: { token: "[redacted]" } })
  })

  it("redacts a run error's message, stack, cause and fields as the journal does", () => {
    const redaction = redactor({})
    const error = {
      _tag: "StepCodeError" as const,
      step: "s",
      retryable: false,
      message: "refused: password=hunter2hunter2",
      stack: "Error: refused: token=abcd1234\n    at s (file.ts:1:1)",
      cause: { message: "inner api_key=zyxw9876", fields: { clientSecret: "cs" } },
      fields: { headers: { authorization: "Basic dXNlcjpwYXNz" } },
    }
    const returned = redaction.error(error)
    const journaled = redaction.journal({ type: "run.finished", runId, status: "failed", durationMs: 1, error, at: 1 })
    expect(JSON.stringify(returned)).not.toMatch(/hunter2|abcd1234|zyxw9876|dXNlcjpwYXNz|"cs"/)
    expect(journaled).toMatchObject({ error: returned })
  })
  it("redacts every run error in a persisted snapshot and keeps the rest exact, copying only what changes", () => {
    const steps = { fetch: { token: "an-output-kept-exact" } }
    const snapshot = {
      status: "active",
      context: { steps, errors: { fetch: { _tag: "ToolError", step: "fetch", message: "refused token=abcd1234efgh", retryable: false } }, error: null },
      children: { branch: { snapshot: { context: { error: { _tag: "StepCodeError", message: "vault: password=hunter2hunter2", fields: { apiKey: "k" } } } } } },
    }
    const redacted = redactor(undefined).snapshot(snapshot) as typeof snapshot
    expect(redacted.context.steps).toBe(steps)
    expect(redacted.context.errors.fetch.message).toBe("refused token=***")
    expect(redacted.children.branch.snapshot.context.error).toEqual({ _tag: "StepCodeError", message: "vault: password=***", fields: { apiKey: "[redacted]" } })
    expect(snapshot.context.errors.fetch.message).toBe("refused token=abcd1234efgh")
    const clean = { context: { steps, error: null } }
    expect(redactor(undefined).snapshot(clean)).toBe(clean)
  })
})
