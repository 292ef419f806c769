// The studio in a real headless Chromium (Debian's `chromium`, driven by playwright-core; no browser
// is downloaded): a run paused on a person is found in the list, opened, decided through its form,
// and seen to reach `done` without a reload. Screenshots go to test-output/studio for people to look at.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type SqliteJournal, sqliteJournal } from "../../src/index.ts"
import { type RunningStudio, serveStudio } from "../../src/studio/serve-studio.ts"
import { refunds } from "./fixtures.ts"

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
const screenshots = join(import.meta.dirname, "../../test-output/studio")

describe.skipIf(available)("studio in a browser", () => {
  it(`SKIPPED: no Chromium at ${executablePath}; install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`, () => {})
})

describe.runIf(available)("studio in headless Chromium", () => {
  let browser: Browser
  let directory: string
  let journal: SqliteJournal
  let studio: RunningStudio
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), "switchboard-studio-browser-"))
    mkdirSync(screenshots, { recursive: true })
    journal = sqliteJournal({ path: join(directory, "runs.db"), tailPollMs: 10 })
    studio = await serveStudio({ journal, pipelines: [{ pipeline: refunds, models: {} }], port: 0 })
    browser = await chromium.launch({ executablePath, args })
  })
  afterAll(async () => {
    await browser?.close()
    await studio?.close()
    journal?.close()
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
  })

  it("finds a paused run in the list, opens it, is refused a wrong decision field by field, decides, and sees it reach done live", {
    timeout: 60_000,
  }, async () => {
    const declined = await refunds.run({ amount: 3 }, { journal })
    const done = await refunds.decide(declined.runId, "review", { approve: false, note: "no" }, { journal })
    expect(done.status).toBe("done")
    const paused = await refunds.run({ amount: 12 }, { journal })
    expect(paused.status).toBe("awaiting-human")
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const outside: string[] = []
    const base = `http://127.0.0.1:${studio.port}`
    page.on("request", (request) => {
      if (!request.url().startsWith(base)) outside.push(request.url())
    })
    const problems: string[] = []
    page.on("pageerror", (error) => problems.push(error.message))

    await page.goto(`${base}/`)
    const rows = page.locator('[data-testid="runs"] tbody tr')
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2)
    expect(await page.locator(`tr[data-run="${done.runId}"] td.status`).textContent()).toBe("done")
    await page.screenshot({ path: join(screenshots, "runs.png"), fullPage: true })

    await page.locator(`tr[data-run="${paused.runId}"] a`).click()
    await page.locator('[data-testid="chart"] svg g.node[data-step="review"]').waitFor({ timeout: 10_000 })
    expect(await page.locator('[data-testid="run-status"]').textContent()).toBe("awaiting-human")
    expect(await page.locator('[data-testid="timeline"] tr[data-step="review"].status-waiting').count()).toBe(1)
    await page.locator('[data-testid="timeline"] tr[data-step="draft"]').click()
    await expect.poll(() => page.locator('[data-testid="details"]').textContent()).toContain("step.finished")

    const form = page.locator('[data-testid="decision-form"][data-step="review"]')
    await form.locator('input[name="approve"]').check()
    await form.locator('input[name="note"]').fill("x")
    await form.locator('button[type="submit"]').click()
    await expect.poll(() => form.locator('[data-field="note"]').textContent(), { timeout: 10_000 }).toMatch(/2/)
    expect((await journal.read(paused.runId)).some((entry) => entry.type === "human.decided")).toBe(false)
    await page.screenshot({ path: join(screenshots, "run-refused.png"), fullPage: true })

    await form.locator('input[name="note"]').fill("fine by me")
    await form.locator('button[type="submit"]').click()
    await expect.poll(() => page.locator('[data-testid="run-status"]').textContent(), { timeout: 10_000 }).toBe("done")
    expect(await page.locator('[data-testid="chart"] g.node.visited[data-step="pay"]').count()).toBe(1)
    await page.screenshot({ path: join(screenshots, "run-done.png"), fullPage: true })

    await page.goto(`${base}/runs/no-such-run`)
    await page.locator('[data-testid="not-found"]').waitFor({ timeout: 10_000 })
    await page.goto(`${base}/inbox`)
    await expect.poll(() => page.locator("main").textContent()).toContain("Nothing waits on a decision.")
    expect(outside).toEqual([])
    expect(problems).toEqual([])
    await page.close()
  })
})
