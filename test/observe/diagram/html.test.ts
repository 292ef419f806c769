import { describe, expect, it } from "vitest"
import { z } from "zod"
import { fn, pipeline, toHtml } from "../../../src/index.ts"
import { essay, essayRun } from "./fixtures.ts"

describe("toHtml", () => {
  it("is one self-contained page: no scripts, no links, no URLs but the SVG namespace, a CSP that forbids fetching", async () => {
    const html = toHtml(essay, { run: await essayRun() })
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i)
    expect(html.match(/https?:\/\/[^"\s]+/g)).toEqual(["http://www.w3.org/2000/svg"])
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`)
  })

  it("marks nodes, edges and timeline rows with data attributes, and what the run did with classes", async () => {
    const html = toHtml(essay, { run: await essayRun() })
    for (const step of essay.stepNames) expect(html).toMatch(new RegExp(`<g class="node kind-[a-z]+[^"]* visited" data-step="${step}"`))
    expect(html).toMatch(/<g class="node kind-final final final-done visited current" data-step="done"/)
    expect(html).toMatch(/<g class="edge edge-stopped taken" data-from="critique" data-to="review" data-kind="stopped" data-taken="1">/)
    expect(html).toMatch(/<g class="edge edge-route" data-from="critique" data-to="review" data-kind="route">/)
    expect(html).toMatch(/<g class="edge edge-next taken" data-from="draft" data-to="critique" data-kind="next" data-taken="2">/)
    const rows = [...html.matchAll(/<tr class="status-(\w+)" data-step="(\w+)" data-visit="(\d+)">/g)].map((match) => `${match[2]}#${match[3]}:${match[1]}`)
    expect(rows).toEqual(["draft#1:finished", "critique#1:finished", "draft#2:finished", "critique#2:finished", "review#1:decided", "publish#1:finished"])
    expect(html).toContain("<dd>maxVisits(2) on draft</dd>")
  })

  it("escapes names, descriptions and titles", () => {
    const tricky = pipeline({ id: "tricky", input: z.object({}), description: `<b>"bold" & 'quoted'</b>` })
      .step(
        "only",
        fn(() => 1, { description: "<script>alert(1)</script>" }),
      )
      .edges({ only: "done" })
    const html = toHtml(tricky, { title: "a < b" })
    expect(html).not.toContain("<script>")
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    expect(html).toContain("&lt;b&gt;&quot;bold&quot; &amp; &#39;quoted&#39;&lt;/b&gt;")
    expect(html).toContain("<title>a &lt; b</title>")
  })
})
