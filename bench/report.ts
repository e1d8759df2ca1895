/** The results as data (latest.json) and as markdown rendered from that data (latest.md). */
import { type LoadSample, pairedRatio, type Spread } from './rounds.ts'

export interface Target {
  /** The ratio (or figure) must be at least (`>=`) or at most (`<=`) `value`. */
  op: '>=' | '<='
  value: number
}

/**
 * A row's ratio to another row, declared on the scenario: usually its ceiling (`of: 'bare-http'`).
 * The report finds that row by id (of the same variant, or each variant when this row has none)
 * and divides round by round.
 */
export interface Ceiling {
  /** The other row's id. */
  of: string
  /** Compare this figure of both rows (a key of their `figures`) instead of the main one. */
  on?: string
  target?: Target
}

export interface Ratio extends Ceiling {
  /** The ceiling row's variant, when this row has none and the ceiling has several. */
  variant?: string
  /** Left out when no row `of` was measured in the run: the table flags it. */
  value?: Spread
}

export interface MeasuredRow {
  /** The scenario's id (bench/scenarios/<id>.ts), or one of its own, e.g. `api-batched-memory`. */
  id: string
  /** Which contender or setting of the scenario, e.g. an adapter's name or '16 callers'. */
  variant?: string
  measurement: string
  unit: string
  figure: Spread
  /**
   * Other figures, per round, by name: a ratio may compare `on` one; p50, p99 and p99.9 (ms)
   * make the row a series of the latency chart.
   */
  figures?: Record<string, Spread>
  /** Figures that go with the main one, in words. */
  detail?: string
  /** A figure that is itself held to a target (latency, memory). */
  target?: Target
  /** Its ratios to other rows (its ceilings), resolved into `Row.ratios`. */
  ceilings?: Ceiling[]
  /** A value sampled over time (the lag), drawn as a chart. */
  timeline?: { title: string; samples: { at: number; lag: number }[]; markAt: number }
}

export interface Row extends Omit<MeasuredRow, 'ceilings'> {
  ratios: Ratio[]
}

/** Each row's declared ceilings as ratios, round by round, found among `rows` by id. */
export function resolveRatios(rows: MeasuredRow[]): Row[] {
  return rows.map(({ ceilings = [], ...row }) => ({
    ...row,
    ratios: ceilings.flatMap((ceiling): Ratio[] => {
      const basis = (of: MeasuredRow) => {
        const figure = ceiling.on ? of.figures?.[ceiling.on] : of.figure
        if (!figure) throw new Error(`${of.id} has no figure ${ceiling.on} for ${row.id}'s ratio`)
        return figure.rounds
      }
      const matches = rows.filter(
        (other) =>
          other.id === ceiling.of &&
          (!row.variant || !other.variant || other.variant === row.variant),
      )
      if (matches.length === 0) return [ceiling]
      return matches.map((other) => ({
        ...ceiling,
        ...(!row.variant && other.variant && { variant: other.variant }),
        value: pairedRatio(basis(row), basis(other)),
      }))
    }),
  }))
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
  /** Each scenario's raw measurements, by its id, as data (the table is rendered from the rows). */
  raw: Record<string, unknown>
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
    `${row.id}: ${row.measurement}`,
    withSpread(row.figure, figureText),
    row.unit + verdict(row.figure.median, row.target),
    [
      row.detail ?? '',
      ...row.ratios.map((ratio) => {
        const of = `of ${[ratio.of, ratio.variant].filter(Boolean).join(' ')}${ratio.on ? ` (${ratio.on})` : ''}`
        return ratio.value
          ? `${withSpread(ratio.value, ratioText)} ${of}${verdict(ratio.value.median, ratio.target)}`
          : `NO RATIO ${of}: not measured in this run`
      }),
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
    'Produced by `npm run bench` (bench/run.ts) with every figure in `latest.json`; bench/README.md explains each row by its id.',
    '',
  ].join('\n')
}
