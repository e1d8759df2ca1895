/** The results as markdown: one table, then the machine facts and anything odd. */
export interface Row {
  measurement: string
  figure: number | string
  unit: string
  ratio: string
}

const format = (figure: number | string) =>
  typeof figure === 'number' ? Math.round(figure).toLocaleString('en-US') : figure

export function renderReport(rows: Row[], notes: string[], facts: string[]): string {
  return [
    '# Benchmark results',
    '',
    '| measurement | figure | unit | ratio vs ceiling |',
    '|---|--:|---|---|',
    ...rows.map(
      (row) => `| ${row.measurement} | ${format(row.figure)} | ${row.unit} | ${row.ratio} |`,
    ),
    '',
    ...facts.map((fact) => `- ${fact}`),
    '',
    ...(notes.length > 0 ? ['Notes:', '', ...notes.map((note) => `- ${note}`), ''] : []),
    'Produced by `npm run bench` (bench/run.ts); bench/README.md explains each row.',
    '',
  ].join('\n')
}
