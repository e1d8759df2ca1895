/** The results as data (latest.json) and as markdown rendered from that data (latest.md). */
import type { BufferingResult } from './buffering.ts'
import type { FreshnessResult } from './freshness.ts'
import type { Percentiles } from './measure.ts'
import type { LoadSample, Spread } from './rounds.ts'

export interface Target {
  /** The ratio (or figure) must be at least (`>=`) or at most (`<=`) `value`. */
  op: '>=' | '<='
  value: number
}

export interface Ratio {
  /** What it is a ratio of, e.g. "of h". */
  of: string
  value: Spread
  target?: Target
}

export interface Row {
  /** The bench/README.md letter and, for Kafka-bound rows, the adapter. */
  id: string
  measurement: string
  unit: string
  figure: Spread
  /** Figures that go with the main one, e.g. latency percentiles. */
  detail?: string
  ratios: Ratio[]
  /** A figure that is itself held to a target (latency, memory). */
  target?: Target
}

export interface Results {
  date: string
  machine: {
    cores: number
    cpu: string
    memoryGiB: number
    versions: Record<string, string>
    /** The one-minute load average, sampled through the run. */
    load: LoadSample[]
  }
  settings: Record<string, number | string>
  runSeconds: number
  rows: Row[]
  freshness: {
    refreshIntervalMs: number
    /** Kafka's EndToEndLatency per round: the Kafka part's ceiling. */
    kafkaCeiling: Percentiles[]
    /** Per adapter, per round, per rate. */
    runs: (FreshnessResult & { adapter: string; round: number; apiPeakMiB: number })[]
  } | null
  buffering: (BufferingResult & { adapter: string }) | null
  charts: { file: string; title: string }[]
  notes: string[]
}

const figureText = (value: number) =>
  Math.abs(value) >= 100
    ? Math.round(value).toLocaleString('en-US')
    : value >= 1
      ? value.toFixed(1)
      : value.toPrecision(2)

const ratioText = (value: number) => (value >= 0.1 ? value.toFixed(2) : value.toPrecision(2))

const withSpread = (spread: Spread, text: (value: number) => string) =>
  spread.rounds.length > 1
    ? `${text(spread.median)} (${text(spread.min)}-${text(spread.max)})`
    : text(spread.median)

const meets = (value: number, target: Target) =>
  target.op === '>=' ? value >= target.value : value <= target.value

const verdict = (value: number, target: Target | undefined) =>
  target ? ` ${meets(value, target) ? 'meets' : 'MISSES'} ${target.op} ${target.value}` : ''

/** A table laid out as `biome format` lays it out, so the written file passes `npm run lint`. */
function table(header: string[], cells: string[][], rightAligned: number[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? '').length)),
  )
  const line = (values: string[]) =>
    `| ${values.map((value, column) => (rightAligned.includes(column) ? value.padStart(widths[column] ?? 0) : value.padEnd(widths[column] ?? 0))).join(' | ')} |`
  const rule = `| ${widths.map((width, column) => (rightAligned.includes(column) ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`
  return [line(header), rule, ...cells.map(line)]
}

export function renderReport(results: Results): string {
  const rows = results.rows.map((row) => [
    `${row.id}. ${row.measurement}`,
    withSpread(row.figure, figureText),
    row.unit + verdict(row.figure.median, row.target),
    [
      row.detail ?? '',
      ...row.ratios.map(
        (ratio) =>
          `${withSpread(ratio.value, ratioText)} ${ratio.of}${verdict(ratio.value.median, ratio.target)}`,
      ),
    ]
      .filter(Boolean)
      .join('; '),
  ])
  const loads = results.machine.load.map((sample) => sample.load)
  const rounds = results.settings.rounds
  return [
    '# Benchmark results',
    '',
    `Each figure is the median of ${rounds} paired rounds (lowest-highest in brackets); each ratio`,
    "is the median of the rounds' own ratios, each round's measurement over the same round's ceiling.",
    '',
    ...table(['measurement', 'figure', 'unit', 'ratio vs ceiling, details'], rows, [1]),
    '',
    ...results.charts.map((chart) => `![${chart.title}](${chart.file})`),
    ...(results.charts.length > 0 ? [''] : []),
    `- Machine load during the run: the one-minute load average moved between ${Math.min(...loads).toFixed(1)} and ${Math.max(...loads).toFixed(1)} (${loads.length} samples, ${results.machine.cores} cores; others share the machine).`,
    `- Date: ${results.date}; run time ${Math.round(results.runSeconds)} s`,
    `- Machine: ${results.machine.cores} cores (${results.machine.cpu}), ${results.machine.memoryGiB} GiB`,
    `- Versions: ${Object.entries(results.machine.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `- Settings: ${Object.entries(results.settings)
      .map(([name, value]) => `${name} ${value}`)
      .join(', ')}`,
    '',
    ...(results.notes.length > 0
      ? ['Notes:', '', ...results.notes.map((note) => `- ${note}`), '']
      : []),
    'Produced by `npm run bench` (bench/run.ts) with every figure in `latest.json`; bench/README.md explains each row.',
    '',
  ].join('\n')
}
