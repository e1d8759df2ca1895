// checkov on the default rendering (the operators' charts and the hooks included). Offline
// checkov reports no severities, so every failed check fails the test unless chart/README.md
// accepts it, with a reason, in its checkov table: for every object ("all") or for the objects
// it names ("Kind name", comma-separated).
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { env, render } from './chart.ts'
import { repoRoot, run } from './tools.ts'

type Accepted = { objects: string[] | 'all'; reason: string }

function acceptedChecks(): Map<string, Accepted> {
  const readme = readFileSync(path.join(repoRoot, 'chart/README.md'), 'utf8')
  const table = readme.split('<!-- checkov:start -->')[1]?.split('<!-- checkov:end -->')[0] ?? ''
  const accepted = new Map<string, Accepted>()
  for (const m of table.matchAll(/^\| (CKV2?_[A-Z0-9_]+) \| (.+?) \| (.+) \|$/gm)) {
    const objects =
      m[2] === 'all' ? 'all' : (m[2] as string).split(', ').map((o) => o.replaceAll('`', ''))
    accepted.set(m[1] as string, { objects, reason: m[3] as string })
  }
  return accepted
}

/** checkov names an object "Kind.namespace.name[.labels...]". */
const isObject = (resource: string, object: string) => {
  const [kind, name] = object.split(' ')
  return resource.startsWith(`${kind}.`) && resource.split('.')[2] === name
}

describe('checkov', () => {
  it('finds nothing in the default rendering beyond the findings the README accepts', () => {
    const accepted = acceptedChecks()
    expect(accepted.size).toBeGreaterThan(0)
    for (const [id, { reason }] of accepted)
      expect(reason.length, `${id} needs a reason`).toBeGreaterThan(20)
    const file = path.join(env().work, 'checkov-defaults.yaml')
    writeFileSync(file, render([]).yaml)
    const r = run(env().checkov, [
      '-f',
      file,
      '--framework',
      'kubernetes',
      '--skip-download',
      '--compact',
      '--quiet',
      '--output',
      'json',
    ])
    const report = JSON.parse(r.stdout) as {
      results?: { failed_checks: { check_id: string; check_name: string; resource: string }[] }
    }
    const failed = (report.results?.failed_checks ?? [])
      .filter((c) => {
        const ok = accepted.get(c.check_id)
        return !(ok && (ok.objects === 'all' || ok.objects.some((o) => isObject(c.resource, o))))
      })
      .map((c) => `${c.check_id} ${c.check_name} (${c.resource})`)
    expect(failed).toEqual([])
    expect(report.results, r.stderr).toBeDefined()
  }, 240_000)
})
