/**
 * The table of docs/faults.md from the latest run's audit rows, one row per scenario and Kafka
 * client: `npx tsx test/faults/table.ts` prints it, `--write` puts it in docs/faults.md between
 * its faults markers.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AuditRow } from './audit.ts'

const rows = JSON.parse(
  await readFile(join(import.meta.dirname, 'results', 'latest.json'), 'utf8'),
) as AuditRow[]
const columns: [string, (row: AuditRow) => string | number][] = [
  ['scenario', (r) => r.scenario],
  ['client', (r) => r.kafkaClient],
  ['load', (r) => r.load],
  ['acknowledged', (r) => r.acknowledged],
  [
    'refused',
    (r) =>
      Object.entries(r.refused)
        .map(([status, count]) => `${count} x ${status}`)
        .join(', ') || '0',
  ],
  ['stored', (r) => r.stored],
  ['lost', (r) => r.lost],
  ['duplicated', (r) => r.duplicated],
  ['extra copies in the topic', (r) => r.extraCopiesInTopic],
  ['dead-lettered', (r) => r.deadLettered],
  ['time to recover', (r) => `${r.timeToRecoverSeconds} s`],
]
const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`
const table = [
  line(columns.map(([name]) => name)),
  line(columns.map(() => '---')),
  ...rows
    .toSorted(
      (a, b) => a.scenario.localeCompare(b.scenario) || a.kafkaClient.localeCompare(b.kafkaClient),
    )
    .map((row) => line(columns.map(([, cell]) => cell(row)))),
].join('\n')

if (process.argv.includes('--write')) {
  const page = join(import.meta.dirname, '..', '..', 'docs', 'faults.md')
  const text = await readFile(page, 'utf8')
  const updated = text.replace(
    /(<!-- faults:start -->\n)[\s\S]*?(<!-- faults:end -->)/,
    `$1${table}\n$2`,
  )
  if (updated === text && !text.includes(table)) {
    throw new Error('docs/faults.md has no faults markers')
  }
  await writeFile(page, updated)
} else process.stdout.write(`${table}\n`)
