import type { Chart, ChartEdge, ChartNode } from "./chart.ts"

/** A node placed on the canvas: its box's top-left corner and size. */
export interface PlacedNode extends ChartNode {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  readonly column: number
}

/** An edge with its SVG path and where its label goes. */
export interface PlacedEdge extends ChartEdge {
  readonly path: string
  readonly labelX: number
  readonly labelY: number
}

/** A chart laid out in layers, ready to draw. */
export interface Layout {
  readonly width: number
  readonly height: number
  readonly nodes: readonly PlacedNode[]
  readonly edges: readonly PlacedEdge[]
}

const nodeWidth = 150
const nodeHeight = 48
const columnGap = 190
const rowGap = 46
const margin = 40

/**
 * Lays a chart out left to right: a step's column is its breadth-first depth from the first step,
 * final states share the last column, rows follow discovery order. Forward edges are curves
 * between facing sides; edges going back (loops) arc below the boxes, self-loops above.
 */
export const layoutChart = (chart: Chart): Layout => {
  const depth = new Map<string, number>([[chart.first, 0]])
  const queue = [chart.first]
  while (queue.length > 0) {
    const name = queue.shift() as string
    for (const edge of chart.edges) {
      if (edge.from !== name || depth.has(edge.to) || chart.nodes.find((node) => node.name === edge.to)?.final) continue
      depth.set(edge.to, (depth.get(name) as number) + 1)
      queue.push(edge.to)
    }
  }
  const lastStepColumn = Math.max(0, ...chart.nodes.filter((node) => !node.final).map((node) => depth.get(node.name) ?? 0))
  const columnOf = (node: ChartNode) => (node.final ? lastStepColumn + 1 : (depth.get(node.name) ?? lastStepColumn))
  const rows = new Map<number, number>()
  const placed = new Map<string, PlacedNode>()
  // Discovery order within a column: nodes in BFS order, then the rest as declared.
  const order = [...chart.nodes].sort((left, right) => (left.final === right.final ? (depth.get(left.name) ?? 1e9) - (depth.get(right.name) ?? 1e9) : 0))
  for (const node of order) {
    const column = columnOf(node)
    const row = rows.get(column) ?? 0
    rows.set(column, row + 1)
    placed.set(node.name, {
      ...node,
      column,
      width: nodeWidth,
      height: nodeHeight,
      x: margin + column * (nodeWidth + columnGap),
      y: margin + 24 + row * (nodeHeight + rowGap),
    })
  }
  const columns = lastStepColumn + 2
  const tallest = Math.max(1, ...rows.values())
  const width = margin * 2 + columns * nodeWidth + (columns - 1) * columnGap
  const bodyHeight = margin * 2 + 24 + tallest * nodeHeight + (tallest - 1) * rowGap
  let lowest = bodyHeight

  // Parallel edges (a route and an error edge between the same steps) fan out around the straight line.
  const siblings = new Map<string, number>()
  const rank = chart.edges.map((edge) => {
    const key = `${edge.from}\u0000${edge.to}`
    const index = siblings.get(key) ?? 0
    siblings.set(key, index + 1)
    return index
  })
  const spread = (index: number) => {
    const edge = chart.edges[index] as ChartEdge
    const count = siblings.get(`${edge.from}\u0000${edge.to}`) ?? 1
    return ((rank[index] as number) - (count - 1) / 2) * 24
  }

  let backward = 0
  const edges: PlacedEdge[] = chart.edges.map((edge, index) => {
    const from = placed.get(edge.from) as PlacedNode
    const to = placed.get(edge.to) as PlacedNode
    if (from === to) {
      const left = from.x + from.width * 0.35
      const right = from.x + from.width * 0.65
      return {
        ...edge,
        path: `M ${left} ${from.y} C ${left - 10} ${from.y - 40}, ${right + 10} ${from.y - 40}, ${right} ${from.y}`,
        labelX: from.x + from.width / 2,
        labelY: from.y - 36,
      }
    }
    if (to.column > from.column) {
      const startX = from.x + from.width
      const offset = spread(index)
      const startY = from.y + from.height / 2 + offset / 3
      const endX = to.x
      const endY = to.y + to.height / 2 + offset / 3
      const bend = (endX - startX) / 2
      // Control points pulled apart by `offset`: the curve's middle sits 0.75 × offset off the line.
      return {
        ...edge,
        path: `M ${startX} ${startY} C ${startX + bend} ${startY + offset}, ${endX - bend} ${endY + offset}, ${endX} ${endY}`,
        labelX: (startX + endX) / 2,
        labelY: (startY + endY) / 2 + offset * 0.75 - 4,
      }
    }
    // Back or sideways edges arc below everything, each a little deeper so they stay apart.
    backward += 1
    const startX = from.x + from.width / 2 + 12
    const endX = to.x + to.width / 2 - 12
    const startY = from.y + from.height
    const endY = to.y + to.height
    const dip = bodyHeight - margin + backward * 22
    lowest = Math.max(lowest, dip + 10)
    return {
      ...edge,
      path: `M ${startX} ${startY} C ${startX} ${dip}, ${endX} ${dip}, ${endX} ${endY}`,
      labelX: (startX + endX) / 2,
      labelY: (startY + endY) / 8 + (dip * 3) / 4 - 4,
    }
  })
  return { width, height: lowest + margin / 2, nodes: [...placed.values()], edges }
}
