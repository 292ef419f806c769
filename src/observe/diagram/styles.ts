/** The stylesheet inlined in every page `toHtml` writes (no fonts or images to fetch). */
export const styles = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #9ca3af; --taken: #16a34a; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.description { color: var(--muted); margin: 0 0 8px; }
.summary { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 8px 0; }
.summary div { display: flex; gap: 6px; } .summary dt { color: var(--muted); } .summary dd { margin: 0; font-weight: 600; }
.chart { overflow-x: auto; }
svg.graph { display: block; max-width: 100%; height: auto; }
.node > rect { fill: #f9fafb; stroke: #6b7280; stroke-width: 1.5; }
.node.kind-llm > rect { fill: #eef2ff; stroke: #6366f1; }
.node.kind-fn > rect { fill: #f0f9ff; stroke: #0284c7; }
.node.kind-tool > rect { fill: #fff7ed; stroke: #ea580c; }
.node.kind-human > rect { fill: #fdf4ff; stroke: #c026d3; stroke-dasharray: 5 3; }
.node.kind-agent > rect { fill: #f5f3ff; stroke: #7c3aed; } .node.kind-retrieve > rect { fill: #ecfeff; stroke: #0891b2; }
.node.kind-parallel > rect, .node.kind-map > rect, .node.kind-pipeline > rect { fill: #f8fafc; stroke: #475569; }
.node .region rect { fill: none; stroke: #94a3b8; stroke-dasharray: 4 3; stroke-width: 1; }
.node .region text { font-size: 10px; fill: var(--muted); }
.node .substate rect { fill: #fff; stroke: #a1a1aa; stroke-width: 1; }
.node .substate text { font-size: 10px; fill: var(--ink); }
.node path.subedge { fill: none; stroke: #a1a1aa; stroke-width: 1; }
.node.final > rect { fill: #f3f4f6; stroke: #374151; }
.node.final-failed > rect { stroke: #dc2626; } .node.final-stopped > rect { stroke: #d97706; }
.node.visited > rect { fill: #dcfce7; stroke: var(--taken); stroke-width: 3; }
.node.current > rect { fill: #fef9c3; stroke: #ca8a04; stroke-width: 3.5; }
.node > text.name { font-weight: 600; font-size: 13px; fill: var(--ink); }
.node > text.kind { font-size: 11px; fill: var(--muted); }
.edge path { fill: none; stroke: var(--line); stroke-width: 1.4; }
.edge-error path, .edge-timeout path { stroke-dasharray: 4 3; }
.edge-error path { stroke: #f87171; } .edge-stopped path { stroke: #f59e0b; stroke-dasharray: 2 3; }
.edge text { font-size: 11px; fill: #4b5563; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.edge.taken path { stroke: var(--taken); stroke-width: 3; stroke-dasharray: none; }
.edge.taken text { fill: #166534; font-weight: 600; }
.arrowhead { fill: var(--line); } .arrowhead-taken { fill: var(--taken); }
.start circle { fill: var(--ink); } .start path { stroke: var(--ink); stroke-width: 1.4; fill: none; }
.legend { color: var(--muted); font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1.5px solid; border-radius: 3px; vertical-align: -2px; margin-left: 6px; }
.swatch.llm { background: #eef2ff; border-color: #6366f1; } .swatch.fn { background: #f0f9ff; border-color: #0284c7; }
.swatch.tool { background: #fff7ed; border-color: #ea580c; } .swatch.human { background: #fdf4ff; border-color: #c026d3; }
.swatch.agent { background: #f5f3ff; border-color: #7c3aed; } .swatch.retrieve { background: #ecfeff; border-color: #0891b2; }
.swatch.fanout { background: #f8fafc; border-color: #475569; }
.swatch.visited { background: #dcfce7; border-color: #16a34a; } .swatch.current { background: #fef9c3; border-color: #ca8a04; }
.taken-line { color: var(--taken); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
th { color: var(--muted); font-weight: 500; }
td.then { white-space: normal; color: var(--muted); max-width: 360px; }
.bar-column { width: 30%; min-width: 160px; }
.track { position: relative; height: 12px; background: #f3f4f6; border-radius: 3px; }
.bar { position: absolute; top: 0; bottom: 0; background: #818cf8; border-radius: 3px; min-width: 2px; }
tr.status-failed .bar, tr.status-expired .bar { background: #f87171; }
tr.status-decided .bar, tr.status-waiting .bar { background: #e879f9; }
tr.status-failed td { color: #b91c1c; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
`
