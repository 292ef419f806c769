// The layers of src/ import downward only (docs/architecture.md draws the arrows), and no value
// import — a lazy `import()` included — closes a cycle anywhere. Type-only cycles are tolerated
// inside one folder (a parallel step contains steps), never across two.
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { cyclesOf, importEdges, type ImportEdge } from "./import-graph.ts"

/** Which layers each layer may import, besides itself. Files at the root of src/ may import anything. */
export const allowedImports: Readonly<Record<string, readonly string[]>> = {
  contract: [],
  definition: ["contract"],
  compile: ["contract", "definition"],
  run: ["contract", "definition", "compile"],
  engines: ["contract", "definition", "compile", "run"],
  providers: ["contract"],
  stores: ["contract"],
  retrieval: ["contract"],
  observe: ["contract", "definition", "compile"],
  verify: ["contract", "definition", "compile", "run", "observe", "stores"],
  testing: ["contract", "verify", "stores"],
  cli: ["contract", "definition", "compile", "run", "engines", "providers", "stores", "retrieval", "observe", "verify", "testing", "pipeline.ts", "index.ts"],
}

const layerOf = (file: string): string => file.split("/")[0] as string

/** Every edge that breaks the table: an unknown folder, or an import into a layer not allowed. */
export const violationsOf = (edges: readonly ImportEdge[]): string[] =>
  edges.flatMap((edge) => {
    const from = layerOf(edge.from)
    const to = layerOf(edge.to)
    if (!edge.from.includes("/") || from === to) return []
    const allowed = allowedImports[from]
    if (allowed === undefined) return [`${edge.from}: folder "${from}" has no row in the table of allowed imports`]
    return allowed.includes(to) ? [] : [`${edge.from}:${edge.line} imports ${edge.to} (${from} may import ${allowed.join(", ") || "nothing"})`]
  })

/** Cycles that are not allowed: any over value edges, and type-only ones that span two folders. */
export const forbiddenCyclesOf = (edges: readonly ImportEdge[]): string[] => [
  ...cyclesOf(edges.filter((edge) => !edge.typeOnly)).map((files) => `value-import cycle: ${files.join(" → ")}`),
  ...cyclesOf(edges)
    .filter((files) => new Set(files.map((file) => file.split("/").slice(0, -1).join("/"))).size > 1)
    .map((files) => `type-import cycle across folders: ${files.join(" → ")}`),
]

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
