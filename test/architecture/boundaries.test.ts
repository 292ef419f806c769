// The layers of src/ import downward only (docs/architecture.md draws the arrows), and no value
// import — a lazy `import()` included — closes a cycle anywhere. Type-only cycles are tolerated
// inside one folder (a parallel step contains steps), never across two.
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { forbiddenCyclesOf, type ImportEdge, importEdges, violationsOf } from "./import-graph.ts"

const source = fileURLToPath(new URL("../../src/", import.meta.url))

describe("layers of src/", () => {
  const edges = importEdges(source)

  it("reads the import lines (a sanity floor: src/ has hundreds of them)", () => {
    expect(edges.length).toBeGreaterThan(400)
    expect(edges.some((edge) => edge.dynamic)).toBe(true)
    expect(edges.some((edge) => edge.typeOnly)).toBe(true)
  })

  it("import only downward, as the table allows", () => {
    expect(violationsOf(edges)).toEqual([])
  })

  it("have no value-import cycle, and no type-import cycle across folders", () => {
    expect(forbiddenCyclesOf(edges)).toEqual([])
  })

  it("the check fails on a forbidden import and on a cycle", () => {
    const upward: ImportEdge = { from: "contract/errors.ts", to: "run/execution.ts", typeOnly: true, dynamic: false, line: 1 }
    expect(violationsOf([upward])).toEqual([expect.stringContaining("contract/errors.ts:1 imports run/execution.ts")])
    const lazyBack: ImportEdge = { from: "definition/edges.ts", to: "definition/validate.ts", typeOnly: false, dynamic: true, line: 1 }
    const forth: ImportEdge = { from: "definition/validate.ts", to: "definition/edges.ts", typeOnly: false, dynamic: false, line: 1 }
    expect(forbiddenCyclesOf([lazyBack, forth])).toEqual(["value-import cycle: definition/edges.ts → definition/validate.ts"])
    const typesAcross: ImportEdge[] = [
      { from: "run/a.ts", to: "run/steps/b.ts", typeOnly: true, dynamic: false, line: 1 },
      { from: "run/steps/b.ts", to: "run/a.ts", typeOnly: true, dynamic: false, line: 1 },
    ]
    expect(forbiddenCyclesOf(typesAcross)).toEqual(["type-import cycle across folders: run/a.ts → run/steps/b.ts"])
  })
})
