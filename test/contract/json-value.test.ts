import { describe, expect, it } from "vitest"
import { jsonPathKey, jsonPathUnder, jsonValueProblem, maxJsonDepth } from "../../src/contract/json-value.ts"

class Money {
  readonly cents: number
  constructor(cents: number) {
    this.cents = cents
  }
}

// Each value JSON would change or refuse, placed deep in an otherwise good value.
const refused: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ["a Date", new Date(0), /^a Date is not a JSON value; return date\.toISOString\(\)$/],
  ["a Map", new Map([["a", 1]]), /^a Map is not a JSON value/],
  ["a Set", new Set([1]), /^a Set is not a JSON value; return \[\.\.\.set\]$/],
  ["NaN", Number.NaN, /^NaN is not a JSON value/],
  ["Infinity", Number.POSITIVE_INFINITY, /^Infinity is not a JSON value/],
  ["-Infinity", Number.NEGATIVE_INFINITY, /^-Infinity is not a JSON value/],
  ["a BigInt", 10n, /^a BigInt is not a JSON value; return value\.toString\(\)/],
  ["a function", () => 1, /^a function is not a JSON value$/],
  ["a symbol", Symbol("s"), /^a symbol is not a JSON value$/],
  ["a class instance", new Money(5), /^a Money instance is not a JSON value/],
  ["binary data", new Uint8Array([1, 2]), /^binary data is not a JSON value/],
  ["a boxed string", new String("s"), /^a String instance is not a JSON value/],
  ["an Error", new Error("boom"), /^an Error instance is not a JSON value/],
]

describe("jsonValueProblem", () => {
  it("accepts JSON values: null, booleans, strings, finite numbers, arrays, plain and prototype-less objects", () => {
    const shared = { id: 1 }
    const good = {
      text: "a\u0000b",
      count: -0.5,
      flags: [true, false, null],
      nested: { deeper: [[], {}, [shared, shared]] },
      bare: Object.assign(Object.create(null) as object, { a: 1 }),
      createdAt: new Date(0).toISOString(),
    }
    expect(jsonValueProblem(good)).toBeUndefined()
    for (const value of [null, true, "", 0, 1e300, [], {}]) expect(jsonValueProblem(value)).toBeUndefined()
  })

  it("allows an undefined object property (JSON drops it, and reading it back gives undefined)", () => {
    expect(jsonValueProblem({ a: undefined, b: { c: undefined } })).toBeUndefined()
  })

  it.each(refused)("refuses %s with the JSON path to it and what to return instead", (_name, value, reason) => {
    const problem = jsonValueProblem({ items: [{ id: 1 }, { id: 2, createdAt: value }] })
    expect(problem?.path).toBe("items[1].createdAt")
    expect(problem?.reason).toMatch(reason)
    // At the root, the path is empty.
    expect(jsonValueProblem(value)).toMatchObject({ path: "", reason: expect.stringMatching(reason) })
  })

  it("refuses undefined in an array and a hole, which JSON turns into null", () => {
    expect(jsonValueProblem({ tags: ["a", undefined] })).toEqual({
      path: "tags[1]",
      reason: "undefined in an array is not a JSON value (JSON turns it into null); use null",
    })
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(jsonValueProblem([1, , 3])?.path).toBe("[1]")
    expect(jsonValueProblem(undefined)?.reason).toBe("undefined is not a JSON value; use null")
  })

  it("refuses a cycle at the place it closes, and names keys that are not identifiers in brackets", () => {
    const node: { name: string; children: unknown[] } = { name: "root", children: [] }
    node.children.push({ name: "leaf", parent: node })
    expect(jsonValueProblem({ tree: node })).toEqual({ path: "tree.children[0].parent", reason: expect.stringMatching(/^a cycle/) })
    expect(jsonValueProblem({ headers: { "content-type": new Date(0) } })?.path).toBe('headers["content-type"]')
  })

  it("refuses an array subclass and a value nested deeper than the bound, without overflowing the stack", () => {
    class Items extends Array<number> {}
    expect(jsonValueProblem({ list: Items.from([1]) })?.reason).toMatch(/^an Items instance/)
    let deep: unknown = "bottom"
    for (let level = 0; level < maxJsonDepth + 5; level++) deep = [deep]
    expect(jsonValueProblem(deep)?.reason).toBe(`nested deeper than ${maxJsonDepth} levels`)
    let fine: unknown = "bottom"
    for (let level = 0; level < maxJsonDepth - 1; level++) fine = { next: fine }
    expect(jsonValueProblem(fine)).toBeUndefined()
  })

  it("reports a value that cannot be read instead of throwing", () => {
    const hostile = {
      get secret(): string {
        throw new Error("no access")
      },
    }
    expect(jsonValueProblem(hostile)).toEqual({ path: "", reason: "it cannot be read (no access)" })
    expect(jsonValueProblem({ money: Object.create({ kind: "custom" }) as object })?.reason).toMatch(/^an object with a custom prototype is not a JSON value/)
  })

  it("builds message paths under a root", () => {
    expect(jsonPathKey("fetch")).toBe(".fetch")
    expect(jsonPathKey("my-step")).toBe('["my-step"]')
    expect(jsonPathUnder("steps.fetch.output", { path: "items[3].createdAt", reason: "" })).toBe("steps.fetch.output.items[3].createdAt")
    expect(jsonPathUnder("steps.fetch.output", { path: "[3]", reason: "" })).toBe("steps.fetch.output[3]")
    expect(jsonPathUnder("steps.fetch.output", { path: "", reason: "" })).toBe("steps.fetch.output")
  })
})
