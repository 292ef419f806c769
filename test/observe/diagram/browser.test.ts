// The HTML page and the Mermaid text, rendered in a real headless Chromium (Debian's `chromium`
// package, driven by playwright-core; no browser is ever downloaded).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chartOf, type JournalEntry, type Pipeline, toHtml, toMermaid, traceOf } from "../../../src/index.ts"
import { essay, essayRun, loadMachine, machineFiles, sampleRun } from "./fixtures.ts"

const executablePath = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const available = existsSync(executablePath)
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
]

describe.skipIf(available)("diagrams in a browser", () => {
  it(`SKIPPED: no Chromium at ${executablePath}; install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`, () => {})
})

describe.runIf(available)("diagrams in headless Chromium", () => {
  let browser: Browser
  let directory: string
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath, args })
    directory = mkdtempSync(join(tmpdir(), "switchboard-diagram-"))
  })
  afterAll(async () => {
    await browser?.close()
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  })

  /** Opens a page from a file, recording every request that is not the file itself. */
  const open = async (name: string, html: string): Promise<{ page: Page; requests: string[] }> => {
    const path = join(directory, name)
    writeFileSync(path, html)
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const requests: string[] = []
    page.on("request", (request) => {
      if (request.url() !== pathToFileURL(path).href) requests.push(request.url())
    })
    await page.goto(pathToFileURL(path).href)
    return { page, requests }
  }

  const subjects: Array<[string, () => Promise<{ pipeline: Pipeline<unknown, Record<string, unknown>>; run: readonly JournalEntry[] }>]> = [
    ["essay", async () => ({ pipeline: essay as unknown as Pipeline<unknown, Record<string, unknown>>, run: await essayRun() })],
    ...machineFiles.map(
      (file) =>
        [
          file,
          async () => {
            const machine = await loadMachine(file)
            return { pipeline: machine.default, run: await sampleRun(machine) }
          },
        ] as [string, () => Promise<{ pipeline: Pipeline<unknown, Record<string, unknown>>; run: readonly JournalEntry[] }>],
    ),
  ]

  it.each(subjects)("renders %s: every step and edge, the path taken, the timeline, a screenshot", async (name, subject) => {
    const { pipeline, run } = await subject()
    const { page, requests } = await open(`${name}.html`, toHtml(pipeline, { run }))
    const started = run.find((entry) => entry.type === "run.started")
    const chart = chartOf(pipeline, started?.type === "run.started" ? started.structure : undefined)
    const trace = traceOf(run)

    for (const step of pipeline.stepNames) {
      const node = page.locator(`svg g.node[data-step="${step}"]`)
      expect(await node.count()).toBe(1)
      expect(await node.locator("text.name").textContent()).toBe(step)
      // Drawn, with a real size on the page.
      const box = await node.boundingBox()
      expect(box?.width ?? 0).toBeGreaterThan(50)
      expect(await node.getAttribute("class")).toContain(trace.visited.has(step) ? "visited" : `kind-`)
      if (!trace.visited.has(step)) expect(await node.getAttribute("class")).not.toContain("visited")
    }
    for (const edge of chart.edges) {
      expect(await page.locator(`svg g.edge[data-from="${edge.from}"][data-to="${edge.to}"][data-kind="${edge.kind}"]`).count()).toBeGreaterThan(0)
    }
    // Every transition the run took is drawn as taken.
    for (const move of trace.transitions) {
      expect(await page.locator(`svg g.edge.taken[data-from="${move.from}"][data-to="${move.to}"]`).count()).toBeGreaterThan(0)
    }
    expect(await page.locator("g.node.current").getAttribute("data-step")).toBe(trace.status)

    const rows = page.locator("section.timeline tbody tr")
    expect(await rows.count()).toBe(trace.visits.length)
    for (const [index, visit] of trace.visits.entries()) {
      const row = rows.nth(index)
      expect(await row.getAttribute("data-step")).toBe(visit.step)
      expect(await row.getAttribute("data-visit")).toBe(String(visit.visit))
      expect((await row.locator(".bar").boundingBox())?.width ?? 0).toBeGreaterThan(0)
    }

    const screenshot = await page.screenshot({ fullPage: true, path: join(directory, `${name}.png`) })
    expect(screenshot.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    expect(readFileSync(join(directory, `${name}.png`)).length).toBeGreaterThan(10_000)
    expect(requests).toEqual([])
    await page.close()
  })

  it("renders a chart without a run: no visited nodes, no timeline", async () => {
    const { page } = await open("plain.html", toHtml(essay))
    expect(await page.locator("svg g.node").count()).toBe(essay.stepNames.length + 2)
    expect(await page.locator(".visited, .taken").count()).toBe(0)
    expect(await page.locator("section.timeline").count()).toBe(0)
    await page.close()
  })

  it("Mermaid itself parses and renders the text of the small pipeline and of every machine", async () => {
    const page = await browser.newPage()
    await page.setContent("<!doctype html><html><body><div id=out></div></body></html>")
    const require = createRequire(import.meta.url)
    await page.addScriptTag({ path: require.resolve("mermaid/dist/mermaid.min.js") })
    await page.evaluate(() => (globalThis as unknown as { mermaid: { initialize(options: object): void } }).mermaid.initialize({ startOnLoad: false }))
    const texts: Array<[string, string, readonly string[]]> = [["essay", toMermaid(essay, { run: await essayRun() }), essay.stepNames]]
    for (const file of machineFiles) {
      const machine = await loadMachine(file)
      texts.push([file, toMermaid(machine.default, { run: await sampleRun(machine) }), machine.default.stepNames])
    }
    for (const [name, text, steps] of texts) {
      const svg = await page.evaluate(
        async ([id, source]) => {
          const mermaid = (
            globalThis as unknown as { mermaid: { parse(text: string): Promise<unknown>; render(id: string, text: string): Promise<{ svg: string }> } }
          ).mermaid
          await mermaid.parse(source as string)
          return (await mermaid.render(id as string, source as string)).svg
        },
        [name.replace(/\W/g, "_"), text],
      )
      expect(svg).toContain("<svg")
      for (const step of steps) expect(svg).toContain(step)
    }
    await page.close()
  })
})
