/**
 * Everything the bench writes, rendered from its results as data: the SVG charts, latest.json,
 * latest.md and the bench block of docs/benchmarks.md. `node --import tsx bench/render.ts`
 * renders them again from bench/results/latest.json (after a change to the table or the charts,
 * without a new run).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type LatencyPoint, lagChart, latencyChart, ratiosChart } from './charts.ts'
import type { Percentiles } from './measure.ts'
import { type Results, renderReport } from './report.ts'
import { spread } from './rounds.ts'

export const resultsDir = join(import.meta.dirname, 'results')
/** The page that shows the latest run's table and charts between its bench markers. */
export const benchPage = join(import.meta.dirname, '..', 'docs', 'benchmarks.md')

const percentileNames = { p50: 'p50', p99: 'p99', p999: 'p99.9' } as const
const median = (values: number[]) => {
  const finite = values.filter((value) => Number.isFinite(value))
  return finite.length > 0 ? spread(finite).median : Number.NaN
}

/** Latency percentiles per rate and adapter (medians of the rounds), Kafka's tool first. */
function latencyPoints(freshness: NonNullable<Results['freshness']>): LatencyPoint[] {
  const series = new Map<string, Percentiles[]>()
  if (freshness.kafkaCeiling.length > 0) series.set('Kafka tool', freshness.kafkaCeiling)
  for (const run of freshness.runs) {
    const name = `${run.ratePerSecond.toLocaleString('en-US')}/s ${run.adapter}`
    series.set(name, [...(series.get(name) ?? []), run.endToEnd])
  }
  return [...series].flatMap(([name, rounds]) =>
    (['p50', 'p99', 'p999'] as const).map((key) => ({
      series: name,
      percentile: percentileNames[key],
      ms: median(rounds.map((round) => round[key])),
    })),
  )
}

async function renderCharts(results: Results): Promise<Results['charts']> {
  const charts: { file: string; title: string; svg: Promise<string> }[] = []
  const targeted = results.rows.flatMap((row) =>
    row.ratios.flatMap((ratio) =>
      ratio.target
        ? ratio.value.rounds.map((value, round) => ({
            ratio: `${row.id} ${row.measurement.split(',')[1]?.trim() ?? ''} ${ratio.of}`,
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
  if (results.freshness) {
    charts.push({
      file: 'latency.svg',
      title: 'End to end: 202 to returned by GET, per offered rate and adapter',
      svg: latencyChart(
        latencyPoints(results.freshness),
        results.freshness.refreshIntervalMs + 500,
        'End to end: 202 to returned by GET (median of the rounds)',
      ),
    })
  }
  if (results.buffering) {
    const { samples, loadSeconds, offeredPerSecond, adapter } = results.buffering
    charts.push({
      file: 'lag.svg',
      title: 'Buffering: lag over time',
      svg: lagChart(
        samples,
        loadSeconds,
        `Lag: ${offeredPerSecond.toLocaleString('en-US')}/s offered for ${Math.round(loadSeconds)} s, then none (${adapter} consumer)`,
      ),
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
  results.charts = await renderCharts(results)
  const report = renderReport(results)
  await writeFile(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
  await writeFile(join(resultsDir, 'latest.md'), report)
  await writeFile(benchPage, withBenchBlock(await readFile(benchPage, 'utf8'), report))
  return report
}

if (import.meta.main) {
  const results = JSON.parse(await readFile(join(resultsDir, 'latest.json'), 'utf8')) as Results
  await writeOutputs(results)
  process.stderr.write(
    'rendered bench/results/*.svg, latest.md and docs/benchmarks.md from latest.json\n',
  )
}
