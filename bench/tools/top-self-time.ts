// Prints the functions with the most self (and inclusive) time in a V8 .cpuprofile (from `node --cpu-prof`).
// Usage: npx node bench/tools/top-self-time.ts <file.cpuprofile> [count]
import { readFile } from "node:fs/promises"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}
interface Profile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const [file, count = "25"] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: top-self-time.ts <file.cpuprofile> [count]")
const profile = JSON.parse(await readFile(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parentOf = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)
const keyOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame
  return `${functionName || "(anonymous)"} ${url.replace(/^file:\/\/.*?\/(node_modules|src|bench)\//, "$1/")}:${lineNumber + 1}`
}
const selfMicroseconds = new Map<string, number>()
// Inclusive time: a sample counts once for every distinct function on its stack.
const totalMicroseconds = new Map<string, number>()
const byPackage = new Map<string, number>()
let total = 0
profile.samples.forEach((id, index) => {
  const node = byId.get(id)
  if (node === undefined) return
  const delta = profile.timeDeltas[index] ?? 0
  total += delta
  const { functionName, url } = node.callFrame
  const key = keyOf(node)
  const onStack = new Set<string>()
  for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
    const ancestor = byId.get(current)
    if (ancestor !== undefined) onStack.add(keyOf(ancestor))
  }
  for (const entry of onStack) totalMicroseconds.set(entry, (totalMicroseconds.get(entry) ?? 0) + delta)
  selfMicroseconds.set(key, (selfMicroseconds.get(key) ?? 0) + delta)
  const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes("/src/") ? "switchboard src" : url === "" ? functionName : "other")
  byPackage.set(owner, (byPackage.get(owner) ?? 0) + delta)
})
const percent = (value: number) => `${((value / total) * 100).toFixed(1).padStart(5)}%`
process.stdout.write("self time by owner:\n")
for (const [owner, value] of [...byPackage].sort((left, right) => right[1] - left[1]).slice(0, 12)) process.stdout.write(`${percent(value)}  ${owner}\n`)
process.stdout.write("\ntop functions by self time:\n")
for (const [key, value] of [...selfMicroseconds].sort((left, right) => right[1] - left[1]).slice(0, Number(count)))
  process.stdout.write(`${percent(value)}  ${key}\n`)
process.stdout.write("\ntop functions by total (inclusive) time:\n")
for (const [key, value] of [...totalMicroseconds].sort((left, right) => right[1] - left[1]).slice(0, Number(count)))
  process.stdout.write(`${percent(value)}  ${key}\n`)
