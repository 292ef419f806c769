// Charts are laid out by the Eclipse Layout Kernel (elkjs, layered algorithm, orthogonal edges),
// loaded on the first chart drawn. Steps with a sub-chart (agents, parallel steps) are compound
// nodes: their inner states are laid out inside their box.
import { createRequire } from "node:module"
import type { Chart, ChartEdge, ChartNode, ChartSubState } from "./chart.ts"

/** A node placed on the canvas: its box's top-left corner and size. */
export interface PlacedNode extends ChartNode {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  /** Its sub-chart's states, placed in absolute coordinates inside the box (agents, parallel steps). */
  readonly subStates: readonly PlacedSubState[]
  /** Transitions between its inner states. */
  readonly subEdges: readonly { readonly from: string; readonly to: string; readonly path: string }[]
}

/** An inner state of a compound step, placed; a region (`parallel`) holds its own states. */
export interface PlacedSubState {
  readonly id: string
  readonly name: string
  readonly region: boolean
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** An edge with its SVG path and where its label goes. */
export interface PlacedEdge extends ChartEdge {
  readonly path: string
  readonly labelX: number
  readonly labelY: number
  /** Its label's box (zero-sized when it has none). */
  readonly labelWidth: number
  readonly labelHeight: number
}

/** A chart laid out, ready to draw. */
export interface Layout {
  readonly width: number
  readonly height: number
  readonly nodes: readonly PlacedNode[]
  readonly edges: readonly PlacedEdge[]
}

const nodeWidth = 150
const nodeHeight = 48
const subWidth = 104
const subHeight = 28
const labelHeight = 14
// 11px labels: a generous average glyph width, so boxes reserved for labels cover their text.
const labelWidth = (text: string) => Math.ceil(text.length * 6.4) + 8

interface ElkNode {
  id: string
  width?: number
  height?: number
  x?: number
  y?: number
  children?: ElkNode[]
  edges?: ElkEdge[]
  labels?: { text: string; width: number; height: number; x?: number; y?: number }[]
  layoutOptions?: Record<string, string>
}
interface ElkEdge {
  id: string
  sources: string[]
  targets: string[]
  labels?: { text: string; width: number; height: number; x?: number; y?: number }[]
  sections?: { startPoint: Point; endPoint: Point; bendPoints?: Point[] }[]
  container?: string
}
interface Point {
  x: number
  y: number
}

type Dispatcher = { dispatcher: { saveDispatch(event: { data: unknown }): void }; onmessage: (answer: { data: unknown }) => void }
let engine: Dispatcher | undefined

/**
 * ELK's bundled build answers through a worker-like object; its in-process "worker" does the
 * layout synchronously when dispatched to directly, which keeps `toHtml` synchronous.
 */
const elkLayout = (graph: ElkNode): ElkNode => {
  if (engine === undefined) {
    const require = createRequire(import.meta.url)
    const ELK = require("elkjs/lib/elk.bundled.js") as new () => { worker: { worker: Dispatcher } }
    engine = new ELK().worker.worker
    engine.onmessage = () => {}
    engine.dispatcher.saveDispatch({ data: { cmd: "register", algorithms: ["layered"], id: "register" } })
  }
  let answer: { data?: ElkNode; error?: unknown } | undefined
  engine.onmessage = (message) => {
    answer = message.data as typeof answer
  }
  engine.dispatcher.saveDispatch({ data: { cmd: "layout", graph, layoutOptions: {}, options: {}, id: "layout" } })
  if (answer?.data === undefined)
    throw new Error(`elkjs could not lay the chart out: ${String((answer?.error as { message?: string })?.message ?? answer?.error)}`)
  return answer.data
}

const layered: Record<string, string> = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.spacing.nodeNodeBetweenLayers": "56",
  "elk.spacing.nodeNode": "28",
  "elk.spacing.edgeNode": "18",
  "elk.spacing.edgeEdge": "12",
  "elk.spacing.edgeLabel": "4",
  "elk.edgeLabels.placement": "CENTER",
  "elk.layered.edgeLabels.sideSelection": "ALWAYS_UP",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
}

const subGraph = (parent: string, states: readonly ChartSubState[]): ElkNode[] =>
  states.map((state) => {
    const id = `${parent}/${state.name}`
    // The state entered first leads its sub-chart, whatever cycles follow it.
    const first: Record<string, string> = state.initial ? { "elk.layered.layering.layerConstraint": "FIRST" } : {}
    if (state.children.length === 0) return { id, width: subWidth, height: subHeight, layoutOptions: first }
    return {
      id,
      layoutOptions: { ...layered, ...first, "elk.padding": "[top=20,left=8,bottom=8,right=8]" },
      children: subGraph(id, state.children),
      edges: state.edges.map((edge, index) => ({ id: `${id}#${index}`, sources: [`${id}/${edge.from}`], targets: [`${id}/${edge.to}`] })),
    }
  })

/**
 * Lays a chart out left to right with elkjs: layers from the first step, orthogonal edges that
 * go around boxes, labels given room of their own, sub-charts inside their step's box.
 *
 * @example
 * const { width, height, nodes } = layoutChart(chartOf(triage))
 */
export const layoutChart = (chart: Chart): Layout => {
  const graph: ElkNode = {
    id: "chart",
    layoutOptions: { ...layered, "elk.padding": "[top=36,left=56,bottom=28,right=28]" },
    children: chart.nodes.map((node) =>
      (node.inner ?? []).length === 0
        ? { id: node.name, width: nodeWidth, height: nodeHeight }
        : {
            id: node.name,
            layoutOptions: { ...layered, "elk.padding": "[top=44,left=10,bottom=10,right=10]", "elk.nodeSize.minimum": `(${nodeWidth},${nodeHeight})` },
            children: subGraph(node.name, node.inner ?? []),
            edges: (node.innerEdges ?? []).map((edge, index) => ({
              id: `${node.name}#${index}`,
              sources: [`${node.name}/${edge.from}`],
              targets: [`${node.name}/${edge.to}`],
            })),
          },
    ),
    edges: chart.edges.map((edge, index) => ({
      id: `edge${index}`,
      sources: [edge.from],
      targets: [edge.to],
      ...(edge.label === "" ? {} : { labels: [{ text: edge.label, width: labelWidth(edge.label), height: labelHeight }] }),
    })),
  }
  const placed = elkLayout(graph)
  const byId = new Map((placed.children ?? []).map((node) => [node.id, node]))
  const nodes: PlacedNode[] = chart.nodes.map((node) => {
    const box = byId.get(node.name) as ElkNode
    const x = box.x ?? 0
    const y = box.y ?? 0
    const inner: PlacedSubState[] = []
    const innerEdges: { from: string; to: string; path: string }[] = []
    const collect = (children: readonly ElkNode[] | undefined, edges: readonly ElkEdge[] | undefined, offsetX: number, offsetY: number) => {
      for (const child of children ?? []) {
        const childX = offsetX + (child.x ?? 0)
        const childY = offsetY + (child.y ?? 0)
        inner.push({
          id: child.id,
          name: child.id.slice(child.id.lastIndexOf("/") + 1),
          region: (child.children?.length ?? 0) > 0,
          x: childX,
          y: childY,
          width: child.width ?? 0,
          height: child.height ?? 0,
        })
        collect(child.children, child.edges, childX, childY)
      }
      for (const edge of edges ?? []) {
        innerEdges.push({ from: edge.sources[0] ?? "", to: edge.targets[0] ?? "", path: pathOf(edge, offsetX, offsetY) })
      }
    }
    collect(box.children, box.edges, x, y)
    return { ...node, x, y, width: box.width ?? nodeWidth, height: box.height ?? nodeHeight, subStates: inner, subEdges: innerEdges }
  })
  const edges: PlacedEdge[] = chart.edges.map((edge, index) => {
    const routed = (placed.edges ?? []).find((each) => each.id === `edge${index}`) as ElkEdge
    const label = routed.labels?.[0]
    return {
      ...edge,
      path: pathOf(routed, 0, 0),
      labelX: (label?.x ?? 0) + (label?.width ?? 0) / 2,
      labelY: (label?.y ?? 0) + (label?.height ?? 0) - 3,
      labelWidth: label?.width ?? 0,
      labelHeight: label?.height ?? 0,
    }
  })
  return { width: Math.ceil(placed.width ?? 0), height: Math.ceil(placed.height ?? 0), nodes, edges }
}

// Edge coordinates are relative to the edge's container, which for top-level edges is the root.
const pathOf = (edge: ElkEdge, offsetX: number, offsetY: number): string =>
  (edge.sections ?? [])
    .map((section) =>
      [section.startPoint, ...(section.bendPoints ?? []), section.endPoint]
        .map((point, index) => `${index === 0 ? "M" : "L"} ${round(point.x + offsetX)} ${round(point.y + offsetY)}`)
        .join(" "),
    )
    .join(" ")

const round = (value: number) => Math.round(value * 10) / 10
