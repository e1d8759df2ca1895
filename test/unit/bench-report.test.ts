import { describe, expect, it } from 'vitest'
import { parseBenchOptions } from '../../bench/options.ts'
import { type MeasuredRow, type Results, renderReport, resolveRatios } from '../../bench/report.ts'
import { pairedRatio, spread } from '../../bench/rounds.ts'
import { checkCeilings, choose, defineScenario, loadScenarios } from '../../bench/scenario.ts'

describe('paired rounds', () => {
  it('reports the median of the rounds with their lowest and highest, rounds in order', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, rounds: [3, 1, 2] })
    expect(spread([4, 1, 3, 2]).median).toBe(2.5)
  })

  it("divides each round's part by the same round's whole, not medians by medians", () => {
    // Medians alone would give 20 / 100 = 0.2; the rounds' own ratios are 0.5, 0.1 and 0.5.
    const ratio = pairedRatio([10, 20, 100], [20, 200, 200])
    expect(ratio.rounds).toEqual([0.5, 0.1, 0.5])
    expect(ratio.median).toBe(0.5)
  })

  it('refuses parts and wholes from different numbers of rounds', () => {
    expect(() => pairedRatio([1, 2], [1])).toThrow(/as many/)
  })
})

const results = (rows: MeasuredRow[]): Results => ({
  date: '2026-12-02T00:00:00.000Z',
  machine: {
    cores: 2,
    cpu: 'test CPU',
    memoryGiB: 24,
    versions: { node: 'v26' },
    load: [
      { at: 0, load: 1.5 },
      { at: 5, load: 4.25 },
    ],
  },
  settings: { rounds: 3 },
  runSeconds: 60,
  rows: resolveRatios(rows),
  raw: {},
  charts: [{ file: 'lag.svg', title: 'Lag' }],
  notes: [],
})

const row = (id: string, rounds: number[], more: Partial<MeasuredRow> = {}): MeasuredRow => ({
  id,
  measurement: `${id} measured`,
  unit: 'req/s',
  figure: spread(rounds),
  ...more,
})

describe('the results table', () => {
  const apiOfHttp = (api: number[]) => [
    row(
      'bare-http',
      api.map(() => 2_000),
    ),
    row('api-batched', api, {
      ceilings: [{ of: 'bare-http', target: { op: '>=', value: 0.5 } }],
    }),
  ]

  it("renders a row's ratio from its declared ceiling, round by round, with its target", () => {
    const table = renderReport(results(apiOfHttp([800, 1_200, 1_400])))
    expect(table).toContain('1,200 (800-1,400)')
    expect(table).toContain('0.60 (0.40-0.70) of bare-http meets >= 0.5')
    expect(renderReport(results(apiOfHttp([600, 400, 800])))).toContain(
      '0.30 (0.20-0.40) of bare-http MISSES >= 0.5',
    )
  })

  it("divides by the ceiling of the row's own variant, or by each variant when it has none", () => {
    const rows = resolveRatios([
      row('raw-produce', [100], { variant: 'kafkajs' }),
      row('raw-produce', [400], { variant: '@platformatic/kafka' }),
      row('api-batched', [50], {
        variant: '@platformatic/kafka',
        ceilings: [{ of: 'raw-produce' }],
      }),
      row('bare-http', [200], { ceilings: [{ of: 'raw-produce' }] }),
    ])
    expect(rows[2]?.ratios.map((ratio) => ratio.value?.median)).toEqual([0.125])
    expect(rows[3]?.ratios.map((ratio) => [ratio.variant, ratio.value?.median])).toEqual([
      ['kafkajs', 2],
      ['@platformatic/kafka', 0.5],
    ])
  })

  it('compares on a named figure when the ceiling says so', () => {
    const figures = (rate: number) => ({ 'queries/s': spread([rate]) })
    const rows = [
      row('query-api', [30], {
        figures: figures(90),
        ceilings: [{ of: 'query-direct', on: 'queries/s' }],
      }),
      row('query-direct', [10], { figures: figures(120) }),
    ]
    expect(resolveRatios(rows)[0]?.ratios[0]?.value?.median).toBe(0.75)
    expect(renderReport(results(rows))).toContain('0.75 of query-direct (queries/s)')
  })

  it('flags a ratio whose ceiling was not measured in the run, rather than leaving it out', () => {
    const table = renderReport(
      results([row('api-batched', [800], { ceilings: [{ of: 'bare-http' }] })]),
    )
    expect(table).toContain('NO RATIO of bare-http: not measured in this run')
  })

  it("says how far the machine's load moved, and links the charts", () => {
    const table = renderReport(results(apiOfHttp([1_000])))
    expect(table).toContain('moved between 1.5 and 4.3 (2 samples')
    expect(table).toContain('![Lag](lag.svg)')
  })
})

describe('the scenarios', () => {
  const scenario = (id: string, ceiling?: string) =>
    defineScenario({
      id,
      stage: 'throughput',
      title: id,
      ...(ceiling && { ceilings: [{ of: ceiling }] }),
      start: () => Promise.reject(new Error('not started in a unit test')),
    })

  it('refuses a ceiling that names no scenario', () => {
    expect(() =>
      checkCeilings([scenario('api-batched', 'bare-http'), scenario('bare-http')]),
    ).not.toThrow()
    expect(() => checkCeilings([scenario('api-batched', 'bare-htp')])).toThrow(
      /api-batched: its ceiling bare-htp is no scenario's id/,
    )
  })
})

describe('bench/scenarios/', () => {
  it('loads one scenario per file, named by its id, every ceiling naming one of them', async () => {
    const scenarios = await loadScenarios()
    const ids = scenarios.map((scenario) => scenario.id)
    expect(ids).toContain('api-batched')
    expect(new Set(ids).size).toBe(ids.length)
    expect(scenarios.find((scenario) => scenario.id === 'api-batched')?.ceilings).toContainEqual(
      expect.objectContaining({ of: 'bare-http' }),
    )
  })

  it('picks scenarios by id or by stage, and refuses a name that is neither', async () => {
    const scenarios = await loadScenarios()
    expect(choose(scenarios, ['bare-http', 'queries']).map((scenario) => scenario.id)).toEqual([
      'bare-http',
      'query-api',
      'query-direct',
    ])
    expect(() => choose(scenarios, ['api-batchd'])).toThrow(
      /--scenario: no scenario or stage api-batchd/,
    )
  })
})

describe('the bench options', () => {
  it('parses a short run', () => {
    const options = parseBenchOptions([
      '--scenario',
      'api-batched,consumer-drain',
      '--rounds',
      '1',
      '--seconds',
      '5',
    ])
    expect(options).toMatchObject({
      scenario: ['api-batched', 'consumer-drain'],
      rounds: 1,
      seconds: 5,
    })
    expect(options['freshness-rates']).toEqual([500, 1_000, 5_000])
    expect(options['data-dir']).toMatch(/bench-stack-39000$/)
  })

  it('names the bad option in one clear error', () => {
    expect(() => parseBenchOptions(['--rounds', '0'])).toThrow(
      /Invalid bench options:\n {2}--rounds: /,
    )
    expect(() => parseBenchOptions(['--freshness-rates', '500,x'])).toThrow(/--freshness-rates/)
    expect(() => parseBenchOptions(['--round', '1'])).toThrow(/Unknown option '--round'/)
  })
})
