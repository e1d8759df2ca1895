/**
 * The results' pictures as SVG, drawn by Vega-Lite (compiled to Vega, rendered headless: no
 * browser, no canvas): lag over time, end-to-end latency per offered rate, the ratios of each
 * round, and a flame graph of a CPU profile.
 */
import { parse, View } from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

const width = 640
const height = 260

/** Renders a Vega-Lite spec to SVG; the schema, a white background and the size when not given. */
async function render(spec: TopLevelSpec): Promise<string> {
  const full = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width,
    height,
    background: 'white',
    ...spec,
  } as TopLevelSpec
  const view = new View(parse(compile(full).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return `${svg}\n`
}

/** A dashed red line at `value` on the `channel` axis, labelled. */
const marker = (channel: 'x' | 'y', value: number, label: string) => ({
  data: { values: [{ value, label }] },
  layer: [
    {
      mark: { type: 'rule' as const, strokeDash: [4, 4], color: 'firebrick' },
      encoding: { [channel]: { field: 'value', type: 'quantitative' as const } },
    },
    {
      mark: {
        type: 'text' as const,
        align: 'left' as const,
        color: 'firebrick',
        ...(channel === 'x' ? { dx: 4, y: 8 } : { x: 4, dy: -6 }),
      },
      encoding: {
        [channel]: { field: 'value', type: 'quantitative' as const },
        text: { field: 'label' },
      },
    },
  ],
})

/** The group's lag each second, with the end of the offered load marked. */
export function lagChart(
  samples: { at: number; lag: number }[],
  loadSeconds: number,
  title: string,
): Promise<string> {
  return render({
    title,
    layer: [
      {
        data: { values: samples },
        mark: { type: 'area', line: true, opacity: 0.3 },
        encoding: {
          x: { field: 'at', type: 'quantitative', title: 'seconds since the load began' },
          y: { field: 'lag', type: 'quantitative', title: 'events waiting (lag)' },
        },
      },
      marker('x', loadSeconds, 'load stops'),
    ],
  })
}

export interface LatencyPoint {
  /** 'Kafka EndToEndLatency' or an offered rate such as '1,000/s'. */
  series: string
  percentile: 'p50' | 'p99' | 'p99.9'
  ms: number
}

/** Latency percentiles per offered rate, with the target (refresh interval + 0.5 s) as a rule. */
export function latencyChart(
  points: LatencyPoint[],
  targetMs: number,
  title: string,
): Promise<string> {
  return render({
    title,
    layer: [
      {
        data: { values: points },
        mark: 'bar',
        encoding: {
          x: { field: 'series', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } },
          xOffset: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'] },
          y: {
            field: 'ms',
            type: 'quantitative',
            title: 'milliseconds',
          },
          color: { field: 'percentile', type: 'nominal', sort: ['p50', 'p99', 'p99.9'] },
        },
      },
      marker('y', targetMs, `target at 1,000/s: p99 <= ${targetMs} ms`),
    ],
  })
}

export interface RatioPoint {
  ratio: string
  round: number
  value: number
  target: number
}

/** Each ratio's value in every round, with its target as a tick. */
export function ratiosChart(points: RatioPoint[], title: string): Promise<string> {
  const targets = [...new Map(points.map((point) => [point.ratio, point])).values()]
  return render({
    title,
    layer: [
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          y: { field: 'ratio', type: 'nominal', title: null, sort: null },
          x: { field: 'value', type: 'quantitative', title: 'ratio (each dot one round)' },
          color: { field: 'round', type: 'ordinal', title: 'round' },
        },
      },
      {
        data: { values: targets },
        mark: { type: 'tick', color: 'firebrick', thickness: 2 },
        encoding: {
          y: { field: 'ratio', type: 'nominal', sort: null },
          x: { field: 'target', type: 'quantitative' },
        },
      },
    ],
  })
}

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}

/**
 * A flame graph of a V8 .cpuprofile (node --cpu-prof): each frame as wide as its share of the
 * samples, callers below callees; frames under 0.5 % of the samples are left out.
 */
export function flameGraph(profile: { nodes: ProfileNode[] }, title: string): Promise<string> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const total = new Map<number, number>()
  const weigh = (node: ProfileNode): number => {
    const weight =
      (node.hitCount ?? 0) +
      (node.children ?? []).reduce((sum, child) => sum + weigh(byId.get(child) as ProfileNode), 0)
    total.set(node.id, weight)
    return weight
  }
  const root = profile.nodes[0] as ProfileNode
  const all = weigh(root)
  const frames: { x0: number; x1: number; depth: number; name: string }[] = []
  const place = (node: ProfileNode, x0: number, depth: number) => {
    const share = (total.get(node.id) ?? 0) / all
    if (share < 0.005) return
    const file = node.callFrame.url.split('/').slice(-2).join('/')
    const name = `${node.callFrame.functionName || '(anonymous)'}${file ? ` ${file}:${node.callFrame.lineNumber + 1}` : ''}`
    frames.push({ x0, x1: x0 + share, depth, name })
    let offset = x0
    for (const child of node.children ?? []) {
      const childNode = byId.get(child) as ProfileNode
      place(childNode, offset, depth + 1)
      offset += (total.get(child) ?? 0) / all
    }
  }
  place(root, 0, 0)
  const depth = Math.max(...frames.map((frame) => frame.depth)) + 1
  return render({
    title,
    width: 1200,
    height: depth * 16,
    data: { values: frames.map((frame) => ({ ...frame, d1: frame.depth + 1 })) },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'x0', type: 'quantitative', axis: null, scale: { domain: [0, 1] } },
          x2: { field: 'x1' },
          y: { field: 'depth', type: 'quantitative', axis: null, scale: { domain: [depth, 0] } },
          y2: { field: 'd1' },
          color: {
            field: 'depth',
            type: 'quantitative',
            scale: { scheme: 'oranges' },
            legend: null,
          },
          tooltip: { field: 'name' },
        },
      },
      {
        transform: [{ filter: 'datum.x1 - datum.x0 > 0.04' }],
        mark: {
          type: 'text',
          align: 'left',
          baseline: 'middle',
          dx: 3,
          dy: -8,
          fontSize: 9,
          limit: 300,
        },
        encoding: {
          x: { field: 'x0', type: 'quantitative' },
          y: { field: 'depth', type: 'quantitative' },
          text: { field: 'name' },
        },
      },
    ],
  })
}
