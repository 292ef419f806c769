// serializeStepError is the one place where anything thrown becomes a RunError: it keeps the
// thrown error's evidence (name, stack, cause chain, fields) as bounded, masked JSON, and never throws.
import { describe, expect, it } from "vitest"
import {
  type ErrorCause,
  ModelError,
  messageOf,
  type RunError,
  StepCodeError,
  StepTimeoutError,
  serializeStepError,
  ToolError,
  thrownIn,
  toStepError,
  withEvidenceOf,
} from "../../src/contract/errors.ts"

const causesOf = (error: RunError): ErrorCause[] => {
  const links: ErrorCause[] = []
  for (let link = error.cause; link !== undefined; link = link.cause) links.push(link)
  return links
}

/** What the journal would store: JSON in, the same JSON out. */
const expectJson = (error: RunError) => expect(JSON.parse(JSON.stringify(error))).toEqual(error)

describe("serializeStepError keeps the evidence of what user code threw", () => {
  class UpstreamError extends Error {
    override readonly name = "UpstreamError"
    readonly status = 503
    readonly code = "ECONNRESET"
  }

  it("a plain Error becomes a StepCodeError with its name, stack, cause chain and own fields", () => {
    const thrown = new UpstreamError("upstream answered 503", { cause: new TypeError("fetch failed", { cause: "socket hang up" }) })

    const error = serializeStepError("fetch", thrown)

    expect(error).toMatchObject({
      _tag: "StepCodeError",
      step: "fetch",
      retryable: false,
      message: "upstream answered 503",
      name: "UpstreamError",
      fields: { status: 503, code: "ECONNRESET" },
    })
    expect(error.stack).toContain("errors.test.ts")
    expect(causesOf(error)).toMatchObject([{ name: "TypeError", message: "fetch failed" }, { message: "socket hang up" }])
    expect(causesOf(error)[1]).not.toHaveProperty("stack")
    expectJson(error)
  })

  it("a typed error keeps its own fields, its stack and its cause, and adds no fields", () => {
    const sdkError = Object.assign(new Error("429 Too Many Requests"), { status: 429, requestId: "req_1" })
    const thrown = new ModelError({
      provider: "openai",
      model: "gpt-5-mini",
      reason: "rate-limited",
      retryable: true,
      retryAfterMs: 2000,
      message: "slow down",
      cause: sdkError,
    })

    const error = serializeStepError("classify", thrown)

    expect(error).toMatchObject({
      _tag: "ModelError",
      step: "classify",
      reason: "rate-limited",
      retryAfterMs: 2000,
      cause: { name: "Error", message: "429 Too Many Requests", fields: { status: 429, requestId: "req_1" } },
    })
    expect(error).not.toHaveProperty("name")
    expect(error).not.toHaveProperty("fields")
    expect(error.stack).toContain("errors.test.ts")
    expectJson(error)
  })

  it("a typed error made from a thrown value reports that value's evidence, not the wrapper's", () => {
    const thrown = new UpstreamError("smtp down")

    const tool = serializeStepError(
      "send",
      withEvidenceOf(new ToolError({ tool: "send", reason: "failed", retryable: false, message: messageOf(thrown) }), thrown),
    )
    const code = serializeStepError("send", toStepError("send", thrown))
    const route = serializeStepError("send", thrownIn("send", "route", thrown))

    for (const error of [tool, code, route]) expect(error).toMatchObject({ step: "send", name: "UpstreamError", fields: { status: 503 }, stack: thrown.stack })
    expect(tool).toMatchObject({ _tag: "ToolError", tool: "send", message: "smtp down" })
    expect(code).toMatchObject({ _tag: "StepCodeError", message: "smtp down" })
    expect(route).toMatchObject({ _tag: "StepCodeError", message: 'route of "send" threw: smtp down' })
  })

  it("passes a typed error through toStepError, and keeps the policy's timeouts without a stack", () => {
    const typed = new StepCodeError({ step: "a", retryable: true, message: "try again" })
    expect(toStepError("a", typed)).toBe(typed)
    const timeout = serializeStepError(
      "a",
      new StepTimeoutError({ step: "a", scope: "attempt", ms: 50, retryable: true, message: "attempt timed out after 50ms" }),
    )
    expect(timeout).toEqual({ _tag: "StepTimeoutError", step: "a", scope: "attempt", ms: 50, retryable: true, message: "attempt timed out after 50ms" })
  })

  it("masks credentials: in fields named like secrets, and in any string", () => {
    const thrown = Object.assign(new Error("call failed with key sk-live0123456789abcdef"), {
      headers: { authorization: "Bearer abc.def.ghi.jkl", "x-api-key": "k_123456789", "x-request-id": "req_9" },
      apiKey: "not-prefixed-but-secret",
      request: { body: "token=0123456789abcdef" },
    })

    const error = serializeStepError("call", new Error("outer", { cause: thrown }))

    expect(causesOf(error)[0]?.fields).toEqual({
      headers: { authorization: "[redacted]", "x-api-key": "[redacted]", "x-request-id": "req_9" },
      apiKey: "[redacted]",
      request: { body: "token=***" },
    })
    const text = JSON.stringify(error)
    for (const secret of ["live0123456789", "abc.def.ghi", "k_123456789", "not-prefixed-but-secret", "token=0123456789"]) expect(text).not.toContain(secret)
  })
})

describe("serializeStepError bounds what it keeps", () => {
  it("turns values that are not JSON into strings", () => {
    class Connection {
      readonly socket = 7
    }
    const thrown = Object.assign(new Error("odd fields"), {
      retry: function retryLater() {},
      kind: Symbol("upstream"),
      bytes: 12n,
      connection: new Connection(),
      when: new Date(0),
      body: Buffer.from("secret payload"),
      byKey: new Map([["a", 1]]),
      tags: new Set(["x"]),
      inner: new RangeError("nested"),
      ratio: Number.NaN,
    })

    const error = serializeStepError("odd", thrown)

    expect(error.fields).toEqual({
      retry: "[function retryLater]",
      kind: "Symbol(upstream)",
      bytes: "12n",
      connection: "[Connection]",
      when: "1970-01-01T00:00:00.000Z",
      body: "[Buffer of 14 bytes]",
      byKey: { a: 1 },
      tags: ["x"],
      inner: "RangeError: nested",
      ratio: "NaN",
    })
    expectJson(error)
  })

  it("survives cycles: a field that points back, and a cause chain that loops", () => {
    const first = new Error("first") as Error & { self?: unknown }
    const second = new Error("second", { cause: first })
    first.self = first
    ;(first as { cause?: unknown }).cause = second

    const error = serializeStepError("loop", first)

    expect(error.fields).toEqual({ self: "[circular]" })
    expect(causesOf(error).map((link) => link.message)).toEqual(["second"])
    expectJson(error)
  })

  it("keeps at most 5 causes, and cuts long strings, long lists, deep objects and many fields", () => {
    let thrown: Error = new Error("cause 0")
    for (let index = 1; index <= 9; index += 1) thrown = new Error(`cause ${index}`, { cause: thrown })
    expect(causesOf(serializeStepError("deep", thrown)).map((link) => link.message)).toEqual(["cause 8", "cause 7", "cause 6", "cause 5", "cause 4"])

    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, index) => [`field${index}`, "x".repeat(5_000)]))
    const huge = serializeStepError(
      "huge",
      Object.assign(new Error("huge"), wide, { list: Array.from({ length: 100 }, (_, index) => index), nested: { a: { b: { c: { d: { e: 1 } } } } } }),
    )

    expect(JSON.stringify(huge).length).toBeLessThan(20_000)
    const fields = huge.fields as Record<string, unknown>
    expect(fields["field0"]).toMatch(/^x{1000}… \(4000 more characters\)$/)
    expect(Object.keys(fields).length).toBeLessThanOrEqual(31)
    expect(fields["…"]).toMatch(/^\d+ more fields$/)
    const lists = serializeStepError(
      "lists",
      Object.assign(new Error("lists"), { list: Array.from({ length: 100 }, (_, index) => index), nested: { a: { b: { c: { d: { e: 1 } } } } } }),
    )
    expect((lists.fields?.["list"] as unknown[]).at(-1)).toBe("… 70 more items")
    expect(lists.fields?.["nested"]).toEqual({ a: { b: { c: { d: "[cut]" } } } })
  })

  it("never throws, whatever was thrown", () => {
    const revoked = Proxy.revocable({}, {})
    revoked.revoke()
    const getter = Object.defineProperty(new Error("getter"), "status", {
      enumerable: true,
      get: () => {
        throw new Error("no status")
      },
    })
    const cyclic: Record<string, unknown> = {}
    cyclic["self"] = cyclic

    for (const thrown of [revoked.proxy, getter, Object.create(null), undefined, null, 42, "text", cyclic, Symbol("s")]) {
      const error = serializeStepError("anything", thrown)
      expect(error).toMatchObject({ _tag: "StepCodeError", step: "anything", message: expect.any(String) })
      expectJson(error)
    }
    expect(serializeStepError("a", "text")).toEqual({ _tag: "StepCodeError", step: "a", retryable: false, message: "text" })
    expect(messageOf(cyclic)).toBe("[object Object]")
    expect(messageOf({ message: "plain object", code: 7 })).toBe("plain object")
  })
})
