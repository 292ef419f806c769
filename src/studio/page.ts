// The studio's single page: every style and script inline, nothing fetched but the studio's own API.
import { styles } from "../observe/diagram/styles.ts"
import { studioScript } from "./page-script.ts"

const studioStyles = `
nav { display: flex; gap: 16px; align-items: baseline; border-bottom: 1px solid #e5e7eb; padding-bottom: 8px; margin-bottom: 16px; }
nav a { color: var(--ink); text-decoration: none; font-weight: 600; } nav a.here { color: #4f46e5; }
.toolbar { display: flex; gap: 8px; margin: 8px 0; align-items: center; }
.pager { display: flex; gap: 8px; align-items: center; margin: 8px 0; color: var(--muted); }
.status { font-weight: 600; } .status-done { color: #15803d; } .status-failed { color: #b91c1c; } .status-awaiting-human { color: #a21caf; }
.layout { display: grid; grid-template-columns: minmax(0, 1fr) 360px; gap: 16px; }
.details { border-left: 1px solid #e5e7eb; padding-left: 12px; font-size: 13px; }
.details pre { white-space: pre-wrap; word-break: break-word; background: #f9fafb; padding: 6px; border-radius: 4px; max-height: 320px; overflow: auto; }
.wait { border: 1px solid #e9d5ff; background: #faf5ff; border-radius: 6px; padding: 10px; margin: 8px 0; }
.wait label { display: block; margin: 6px 0; } .wait .field-error { color: #b91c1c; font-size: 12px; }
.wait textarea { width: 100%; min-height: 80px; font-family: ui-monospace, monospace; }
.notice { color: var(--muted); } .error { color: #b91c1c; }
tr.clickable { cursor: pointer; } tr.clickable:hover { background: #f9fafb; } tr.selected { background: #eef2ff; }
.node { cursor: pointer; }
[data-testid="chart"] svg.graph { width: 100%; height: auto; max-width: 100%; }
`

/**
 * The studio's HTML page (one for every route; the script draws the route it finds).
 *
 * @example
 * app.get("/", (c) => c.html(studioPage()))
 */
export const studioPage = (): string =>
  [
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>switchboard studio</title>",
    `<style>${styles}${studioStyles}</style>`,
    "</head>",
    "<body>",
    '<nav><strong>switchboard studio</strong><a href="/" data-link="runs">Runs</a><a href="/inbox" data-link="inbox">Inbox</a></nav>',
    '<main id="app"><p class="notice">Loading…</p></main>',
    `<script>${studioScript}</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n")
