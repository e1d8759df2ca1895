import { describe, expect, it } from 'vitest'
import { type Results, renderReport } from '../../bench/report.ts'
import { pairedRatio, spread } from '../../bench/rounds.ts'

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

describe('the results table', () => {
  const results = (value: number[]): Results => ({
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
    settings: { rounds: value.length },
    runSeconds: 60,
    rows: [
      {
        id: 'b',
        measurement: 'API, batched',
        unit: 'req/s',
        figure: spread([1_000, 2_000, 3_000].slice(0, value.length)),
        ratios: [{ of: 'of h', value: spread(value), target: { op: '>=', value: 0.5 } }],
      },
    ],
    freshness: null,
    buffering: null,
    charts: [{ file: 'lag.svg', title: 'Lag' }],
    notes: [],
  })

  it('shows each ratio with its spread and whether it meets its target', () => {
    const table = renderReport(results([0.4, 0.6, 0.7]))
    expect(table).toContain('2,000 (1,000-3,000)')
    expect(table).toContain('0.60 (0.40-0.70) of h meets >= 0.5')
    expect(renderReport(results([0.3, 0.2, 0.4]))).toContain('0.30 (0.20-0.40) of h MISSES >= 0.5')
  })

  it("says how far the machine's load moved, and links the charts", () => {
    const table = renderReport(results([0.6]))
    expect(table).toContain('moved between 1.5 and 4.3 (2 samples')
    expect(table).toContain('![Lag](lag.svg)')
  })
})
