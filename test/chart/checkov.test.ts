// checkov on the default rendering (helm test Pod included). Offline checkov reports no
// severities, so every failed check fails the test unless chart/README.md accepts it, with a
// reason, in its checkov table (which this test reads to build --skip-check).
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { env, render } from './chart.ts'
import { repoRoot, run } from './tools.ts'

function acceptedChecks(): Map<string, string> {
  const readme = readFileSync(path.join(repoRoot, 'chart/README.md'), 'utf8')
  const table = readme.split('<!-- checkov:start -->')[1]?.split('<!-- checkov:end -->')[0] ?? ''
  const accepted = new Map<string, string>()
  for (const m of table.matchAll(/^\| (CKV_[A-Z0-9_]+) \| (.+) \|$/gm))
    accepted.set(m[1] as string, m[2] as string)
  return accepted
}

describe('checkov', () => {
  it('finds nothing in the default rendering beyond the findings the README accepts', () => {
    const accepted = acceptedChecks()
    expect(accepted.size).toBeGreaterThan(0)
    for (const [id, reason] of accepted)
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
      '--skip-check',
      [...accepted.keys()].join(','),
    ])
    const report = JSON.parse(r.stdout) as {
      results?: { failed_checks: { check_id: string; check_name: string; resource: string }[] }
      summary?: { failed: number }
    }
    const failed = (report.results?.failed_checks ?? []).map(
      (c) => `${c.check_id} ${c.check_name} (${c.resource})`,
    )
    expect(failed).toEqual([])
    expect(r.status, r.stderr).toBe(0)
  }, 240_000)
})
