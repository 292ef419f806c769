// Reads the import lines of src/: every `import … from`, `export … from` and `import("…")` with a
// relative specifier. Under `allowImportingTsExtensions` and `verbatimModuleSyntax` each specifier
// is an exact `.ts` path and a type-only import says so, so no compiler API is needed.
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"

/** One import edge between two files of src/ (paths relative to src/). */
export interface ImportEdge {
  readonly from: string
  readonly to: string
  /** `import type`, `export type`, or every named import marked `type`: erased at run time. */
  readonly typeOnly: boolean
  readonly dynamic: boolean
  readonly line: number
}

const staticImport = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']/gm
const sideEffectImport = /^\s*import\s+["']([^"']+)["']/gm
const dynamicImport = /import\(\s*["']([^"']+)["']\s*\)/g

const filesUnder = (directory: string): string[] =>
  readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) return filesUnder(path)
    return entry.name.endsWith(".ts") ? [path] : []
  })

const lineOf = (text: string, index: number) => text.slice(0, index).split("\n").length

// `import { type A, type B } from` erases like `import type`; `import { type A, b }` does not.
const namesAreAllTypes = (clause: string): boolean => {
  const braces = /^\{([\s\S]*)\}$/.exec(clause.trim())
  if (braces === null) return false
  const names = (braces[1] as string)
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "")
  return names.length > 0 && names.every((name) => name.startsWith("type "))
}

/** Every relative import edge between the files under `root` (normally `src/`). */
export const importEdges = (root: string): ImportEdge[] => {
  const edges: ImportEdge[] = []
  for (const file of filesUnder(root)) {
    // Comments may quote import lines (TSDoc examples): drop them before matching.
    const text = readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, " "))
      .replace(/(^|[^:"'`])\/\/.*$/gm, "$1")
    const from = relative(root, file)
    const add = (specifier: string, typeOnly: boolean, dynamic: boolean, index: number) => {
      if (!specifier.startsWith(".")) return
      edges.push({ from, to: relative(root, resolve(dirname(file), specifier)), typeOnly, dynamic, line: lineOf(text, index) })
    }
    for (const match of text.matchAll(staticImport)) {
      add(match[4] as string, match[2] !== undefined || namesAreAllTypes(match[3] as string), false, match.index)
    }
    for (const match of text.matchAll(sideEffectImport)) add(match[1] as string, false, false, match.index)
    for (const match of text.matchAll(dynamicImport)) add(match[1] as string, false, true, match.index)
  }
  return edges
}

/** Strongly connected components with more than one file (Tarjan), over the given edges. */
export const cyclesOf = (edges: ReadonlyArray<{ readonly from: string; readonly to: string }>): string[][] => {
  const next = new Map<string, string[]>()
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to])
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  let counter = 0
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter)
    counter += 1
    stack.push(node)
    onStack.add(node)
    for (const target of next.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target)
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number))
      } else if (onStack.has(target)) low.set(node, Math.min(low.get(node) as number, index.get(target) as number))
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop() as string
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1) components.push(component.sort())
    }
  }
  for (const node of [...new Set(edges.flatMap(({ from, to }) => [from, to]))]) if (!index.has(node)) visit(node)
  return components
}

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
  tools: ["contract", "definition"],
  observe: ["contract", "definition", "compile"],
  verify: ["contract", "definition", "compile", "run", "observe", "stores"],
  testing: ["contract", "verify", "stores"],
  studio: ["contract", "definition", "compile", "run", "observe", "stores"],
  cli: [
    "contract",
    "definition",
    "compile",
    "run",
    "engines",
    "providers",
    "stores",
    "retrieval",
    "observe",
    "verify",
    "testing",
    "studio",
    "pipeline.ts",
    "index.ts",
  ],
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
