// Generates the values table of chart/README.md from the `# --` comments of chart/values.yaml,
// so the README lists every value without a hand-kept table.
// Usage: node scripts/chart/values-doc.ts [--write]   (prints the table, or rewrites the README
// between <!-- values:start --> and <!-- values:end -->)
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { isMap, isPair, isScalar, parseDocument, type YAMLMap } from 'yaml'

export type ValueDoc = { key: string; default: string; description: string }

const chartDir = path.resolve(import.meta.dirname, '../../chart')

function describe(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined
  const lines = comment.split('\n').map((l) => l.replace(/^ ?/, ''))
  const start = lines.findIndex((l) => l.startsWith('-- '))
  if (start < 0) return undefined
  return lines
    .slice(start)
    .map((l, i) => (i === 0 ? l.slice(3) : l))
    .join(' ')
    .trim()
}

/** Every documented value: maps whose children carry `# --` comments are walked into. */
export function valueDocs(valuesYaml: string): ValueDoc[] {
  const doc = parseDocument(valuesYaml)
  const out: ValueDoc[] = []
  // The comment above a map's first key belongs to the map node in the yaml library.
  const commentOf = (map: YAMLMap, index: number): string | undefined => {
    const pair = map.items[index]
    if (!isPair(pair) || !isScalar(pair.key)) return undefined
    return (
      describe(pair.key.commentBefore) ?? (index === 0 ? describe(map.commentBefore) : undefined)
    )
  }
  const walk = (map: YAMLMap, prefix: string) => {
    for (const [index, pair] of map.items.entries()) {
      if (!isPair(pair) || !isScalar(pair.key)) continue
      const key = `${prefix}${String(pair.key.value)}`
      const description = commentOf(map, index) ?? ''
      const value = pair.value
      const documentedChildren = isMap(value) && value.items.some((_p, i) => commentOf(value, i))
      if (documentedChildren && isMap(value)) {
        if (description) out.push({ key, default: '', description })
        walk(value, `${key}.`)
      } else {
        const json = JSON.stringify(
          value === null || value === undefined ? null : doc.createNode(value).toJSON(),
        )
        out.push({ key, default: json ?? 'null', description })
      }
    }
  }
  if (isMap(doc.contents)) walk(doc.contents, '')
  return out
}

export function valuesTable(valuesYaml: string): string {
  const esc = (s: string) => s.replaceAll('|', '\\|')
  const rows = valueDocs(valuesYaml).map(
    (v) => `| \`${v.key}\` | ${v.default ? `\`${esc(v.default)}\`` : ''} | ${esc(v.description)} |`,
  )
  return ['| Key | Default | Description |', '| --- | --- | --- |', ...rows].join('\n')
}

export function readmeWithTable(readme: string, table: string): string {
  const start = '<!-- values:start -->'
  const end = '<!-- values:end -->'
  const a = readme.indexOf(start)
  const b = readme.indexOf(end)
  if (a < 0 || b < a) throw new Error(`chart/README.md needs ${start} and ${end} markers`)
  return `${readme.slice(0, a + start.length)}\n${table}\n${readme.slice(b)}`
}

if (import.meta.main) {
  const table = valuesTable(readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'))
  if (process.argv.includes('--write')) {
    const readmePath = path.join(chartDir, 'README.md')
    writeFileSync(readmePath, readmeWithTable(readFileSync(readmePath, 'utf8'), table))
  } else {
    process.stdout.write(`${table}\n`)
  }
}
