/**
 * Everything the bench writes, rendered from its results as data: the SVG charts, latest.json,
 * latest.md and the bench block of docs/benchmarks.md. `node --import tsx bench/render.ts`
 * renders them again from bench/results/latest.json (after a change to the table or the charts,
 * without a new run).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { flameGraph, lagChart, latencyChart, ratiosChart } from './charts.ts'
import type { Say } from './measure.ts'
import { type Results, type Row, renderReport } from './report.ts'

export const resultsDir = join(import.meta.dirname, 'results')
/** The page that shows the latest run's table and charts between its bench markers. */
export const benchPage = join(import.meta.dirname, '..', 'docs', 'benchmarks.md')

const percentileNames = ['p50', 'p99', 'p99.9'] as const
const hasPercentiles = (row: Row) => percentileNames.every((name) => row.figures?.[name])

async function renderCharts(rows: Row[]): Promise<Results['charts']> {
  const charts: { file: string; title: string; svg: Promise<string> }[] = []
  const targeted = rows.flatMap((row) =>
    row.ratios.flatMap((ratio) =>
      ratio.target && ratio.value
        ? ratio.value.rounds.map((value, round) => ({
            ratio: `${[row.id, row.variant].filter(Boolean).join(' ')} of ${ratio.of}`,
            round: round + 1,
            value,
            target: ratio.target?.value ?? 0,
          }))
        : [],
    ),
  )
  if (targeted.length > 0) {
    charts.push({
      file: 'ratios.svg',
      title: 'The targeted ratios, round by round',
      svg: ratiosChart(targeted, 'Targeted ratios, each dot one round (target as a red tick)'),
    })
  }
  // Every row with latency percentiles is a series, its medians of the rounds as bars.
  const latencies = rows.filter(hasPercentiles)
  const latencyTarget = latencies.find((row) => row.target)?.target
  if (latencies.length > 0 && latencyTarget) {
    charts.push({
      file: 'latency.svg',
      title: 'End to end: 202 to returned by GET, per offered rate and adapter',
      svg: latencyChart(
        latencies.flatMap((row) =>
          percentileNames.map((percentile) => ({
            series: row.variant ?? row.id,
            percentile,
            ms: row.figures?.[percentile]?.median ?? Number.NaN,
          })),
        ),
        latencyTarget.value,
        'End to end: 202 to returned by GET (median of the rounds)',
      ),
    })
  }
  const timeline = rows.find((row) => row.timeline)?.timeline
  if (timeline) {
    charts.push({
      file: 'lag.svg',
      title: 'Buffering: lag over time',
      svg: lagChart(timeline.samples, timeline.markAt, timeline.title),
    })
  }
  for (const chart of charts) await writeFile(join(resultsDir, chart.file), await chart.svg)
  return charts.map(({ file, title }) => ({ file, title }))
}

/** The page with the report between its bench markers: no title, chart links from docs/. */
export function withBenchBlock(page: string, report: string): string {
  const block = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/
  if (!block.test(page)) throw new Error('docs/benchmarks.md has no bench markers')
  const inPage = report.replace(/^# .*\n\n/, '').replaceAll('](', '](../bench/results/')
  return page.replace(block, () => `<!-- bench:start -->\n${inPage}<!-- bench:end -->`)
}

/** Writes the charts, latest.json, latest.md and docs/benchmarks.md's block; answers the table. */
export async function writeOutputs(results: Results): Promise<string> {
  results.charts = await renderCharts(results.rows)
  const report = renderReport(results)
  await writeFile(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  await writeFile(join(resultsDir, 'latest.md'), report)
  await writeFile(benchPage, withBenchBlock(await readFile(benchPage, 'utf8'), report))
  return report
}

/** Each CPU profile of the run's app processes as a flame graph SVG beside it. */
export async function renderProfiles(profilesDir: string, say: Say): Promise<void> {
  const files = await readdir(profilesDir).catch(() => [] as string[])
  for (const file of files.filter((name) => name.endsWith('.cpuprofile'))) {
    const svgFile = join(profilesDir, file.replace(/\.cpuprofile$/, '.svg'))
    const profile = JSON.parse(await readFile(join(profilesDir, file), 'utf8'))
    await writeFile(svgFile, await flameGraph(profile, file))
    say(`flame graph: ${svgFile}`)
  }
}

if (import.meta.main) {
  const results = JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')) as Results
  await writeOutputs(results)
  process.stderr.write(
    'rendered bench/results/*.svg, latest.md and docs/benchmarks.md from latest.json\n',
  )
}
