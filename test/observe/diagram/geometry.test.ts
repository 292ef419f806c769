// The laid-out chart, measured in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core): for every machine of machines/ and for an agent and a parallel pipeline, every
// node is inside a 1280 px viewport, no edge segment crosses a node box it does not connect, and no
// two edge labels overlap. Screenshots go to test-output/charts for people to look at.
import { existsSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { z } from "zod"
import { agent, fn, maxSteps, type Pipeline, parallel, pipeline, toHtml, tool } from "../../../src/index.ts"
import { loadMachine, machineFiles } from "./fixtures.ts"

const executablePath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
]
const screenshots = join(import.meta.dirname, "../../../test-output/charts")

const lookup = tool({ name: "lookup", input: z.object({ id: z.string() }), run: ({ id }) => ({ id }) })
const stockAgent = pipeline({ id: "stock-agent", input: z.object({ id: z.string() }) })
  .step(
    "check",
    agent({ model: "smart", prompt: ({ input }) => `Check ${input.id}`, tools: { lookup }, output: z.object({ stock: z.number() }), stop: [maxSteps(3)] }),
  )
  .step(
    "report",
    fn(({ steps }) => `stock ${steps.check?.stock}`),
  )
  .edges({ check: "report", report: "done" })
const brief = pipeline({ id: "brief", input: z.object({ doc: z.string() }) })
  .step("both", parallel({ branches: { legal: fn(({ input }) => `legal ${input.doc}`), tech: fn(({ input }) => `tech ${input.doc}`) } }))
  .step(
    "merge",
    fn(({ steps }) => `${steps.both?.legal} + ${steps.both?.tech}`),
  )
  .edges({ both: "merge", merge: "done" })

interface Box {
  readonly name: string
  readonly left: number
  readonly top: number
  readonly right: number
  readonly bottom: number
}
interface Measured {
  readonly nodes: readonly Box[]
  readonly edges: readonly { readonly from: string; readonly to: string; readonly points: readonly (readonly [number, number])[] }[]
  readonly labels: readonly Box[]
  readonly viewport: number
}

// Runs in the page (kept as text: this project's types have no DOM). Screen pixels, after the SVG is scaled to the page.
const measureScript = `(() => {
  const svg = document.querySelector("svg.graph")
  const matrix = svg.getScreenCTM()
  const toScreen = (x, y) => { const point = new DOMPoint(x, y).matrixTransform(matrix); return [point.x, point.y] }
  const boxOf = (element, name) => { const rect = element.getBoundingClientRect(); return { name, left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom } }
  const nodes = [...document.querySelectorAll("svg g.node[data-step]")].map((node) => boxOf(node.querySelector(":scope > rect"), node.getAttribute("data-step")))
  const edges = [...document.querySelectorAll("svg g.edge")].map((edge) => {
    const numbers = [...(edge.querySelector("path").getAttribute("d") || "").matchAll(/-?\\d+(?:\\.\\d+)?/g)].map((match) => Number(match[0]))
    const points = []
    for (let index = 0; index + 1 < numbers.length; index += 2) points.push(toScreen(numbers[index], numbers[index + 1]))
    return { from: edge.getAttribute("data-from"), to: edge.getAttribute("data-to"), points }
  })
  const labels = [...document.querySelectorAll("svg g.edge text")].map((text, index) => boxOf(text, "label " + index + ": " + text.textContent))
  return { nodes, edges, labels, viewport: window.innerWidth }
})()`

// A segment crosses a box when it passes through the box's interior (shrunk by 1 px: touching a border is not crossing).
const crosses = (from: readonly [number, number], to: readonly [number, number], box: Box): boolean => {
  const [x1, y1] = from
  const [x2, y2] = to
  const left = box.left + 1
  const right = box.right - 1
  const top = box.top + 1
  const bottom = box.bottom - 1
  // Liang–Barsky clipping of the segment against the box.
  let low = 0
  let high = 1
  const dx = x2 - x1
  const dy = y2 - y1
  for (const [p, q] of [
    [-dx, x1 - left],
    [dx, right - x1],
    [-dy, y1 - top],
    [dy, bottom - y1],
  ] as const) {
    if (p === 0) {
      if (q < 0) return false
    } else {
      const t = q / p
      if (p < 0) low = Math.max(low, t)
      else high = Math.min(high, t)
      if (low > high) return false
    }
  }
  return high - low > 1e-6
}
const overlap = (a: Box, b: Box) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1

describe.skipIf(available)("chart geometry in a browser", () => {
  it(`SKIPPED: no Chromium at ${executablePath}; install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`, () => {})
})

describe.runIf(available)("chart geometry in headless Chromium at 1280 px", () => {
  let browser: Browser
  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true })
    browser = await chromium.launch({ executablePath, args })
  })
  afterAll(async () => {
    await browser?.close()
  })

  const subjects: [string, () => Promise<Pipeline<unknown, Record<string, unknown>>>][] = [
    ...machineFiles.map((file) => [file, async () => (await loadMachine(file)).default] as [string, () => Promise<Pipeline<unknown, Record<string, unknown>>>]),
    ["agent pipeline", async () => stockAgent as unknown as Pipeline<unknown, Record<string, unknown>>],
    ["parallel pipeline", async () => brief as unknown as Pipeline<unknown, Record<string, unknown>>],
  ]

  it.each(subjects)("%s: nodes inside the viewport, edges around unrelated boxes, labels apart", { timeout: 30_000 }, async (name, subject) => {
    const chartPipeline = await subject()
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.setContent(toHtml(chartPipeline))
    // Measured in screen pixels, after the SVG is scaled to the page.
    const measured = (await page.evaluate(measureScript)) as Measured
    await page.screenshot({ path: join(screenshots, `${name.replace(/[^a-z0-9.-]+/gi, "-")}.png`), fullPage: true })
    await page.close()

    expect(measured.nodes.length).toBe(new Set(measured.nodes.map((node) => node.name)).size)
    const outside = measured.nodes.filter((node) => node.left < 0 || node.right > measured.viewport).map((node) => node.name)
    expect(outside, "nodes outside the 1280 px viewport").toEqual([])
    const crossings: string[] = []
    for (const edge of measured.edges) {
      for (let index = 0; index + 1 < edge.points.length; index++) {
        for (const node of measured.nodes) {
          if (node.name === edge.from || node.name === edge.to) continue
          if (crosses(edge.points[index] as [number, number], edge.points[index + 1] as [number, number], node))
            crossings.push(`${edge.from} → ${edge.to} crosses ${node.name}`)
        }
      }
    }
    expect(crossings, "edge segments through unrelated nodes").toEqual([])
    const overlapping: string[] = []
    for (const [index, label] of measured.labels.entries()) {
      for (const other of measured.labels.slice(index + 1)) if (overlap(label, other)) overlapping.push(`${label.name} / ${other.name}`)
    }
    expect(overlapping, "overlapping labels").toEqual([])
  })
})
