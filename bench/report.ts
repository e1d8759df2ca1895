/** The results as markdown: one table, then the machine facts and anything odd. */
export interface Row {
  measurement: string
  figure: number | string
  unit: string
  ratio: string
}

const format = (figure: number | string) =>
  typeof figure === 'number' ? Math.round(figure).toLocaleString('en-US') : figure

/** A table laid out as `biome format` lays it out, so the written file passes `npm run lint`. */
function table(rows: Row[]): string[] {
  const header = ['measurement', 'figure', 'unit', 'ratio vs ceiling']
  const cells = rows.map((row) => [row.measurement, format(row.figure), row.unit, row.ratio])
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => (line[column] ?? '').length)),
  )
  // The figures are right-aligned (column 1), the rest left-aligned.
  const line = (values: string[]) =>
    `| ${values.map((value, column) => (column === 1 ? value.padStart(widths[column] ?? 0) : value.padEnd(widths[column] ?? 0))).join(' | ')} |`
  const rule = `| ${widths.map((width, column) => (column === 1 ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`
  return [line(header), rule, ...cells.map(line)]
}

export function renderReport(rows: Row[], notes: string[], facts: string[]): string {
  return [
    '# Benchmark results',
    '',
    ...table(rows),
    '',
    ...facts.map((fact) => `- ${fact}`),
    '',
    ...(notes.length > 0 ? ['Notes:', '', ...notes.map((note) => `- ${note}`), ''] : []),
    'Produced by `npm run bench` (bench/run.ts); bench/README.md explains each row.',
    '',
  ].join('\n')
}
