/**
 * Schemathesis against the API's own OpenAPI document, every check: no server error, and no
 * difference between what the document promises and what the code takes or answers. The API
 * runs as a process with its own identity, on the test stack.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, expect, test, vi } from 'vitest'
import type { AppProcess } from '../../scripts/local-stack/harness.ts'
import { startTestProcess } from '../support/app.ts'

const repoRoot = join(import.meta.dirname, '..', '..')
/** Cases per operation and phase: enough to reach every constraint, a few minutes at most. */
const maxExamples = 50
const budgetMs = 840_000

let api: AppProcess
const apiLog: string[] = []

beforeAll(async () => {
  api = await startTestProcess({ ROLE: 'api' }, (line) => apiLog.push(line))
  // The store's first queries on a cold index can outlast the API's 3 s store timeout (a 503,
  // as documented, but not what the examples phase expects): warm them up first.
  const summary = `${api.url}/shops/7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1/summary?from=2021-12-30&to=2021-12-30`
  await vi.waitFor(
    async () => {
      const response = await fetch(summary)
      await response.body?.cancel()
      expect(response.status).toBe(200)
    },
    { timeout: 60_000, interval: 500 },
  )
}, 180_000)
afterAll(() => api?.stop())

test(
  'schemathesis finds no server error and no mismatch with the OpenAPI document',
  async () => {
    // Makes the virtual environment on first use (its progress on stderr), then prints its path.
    const installing = promisify(execFile)('bash', ['scripts/tools/schemathesis.sh'], {
      cwd: repoRoot,
    })
    installing.child.stderr?.pipe(process.stderr)
    const st = (await installing).stdout.trim()

    // Its progress and summary go straight to this output.
    const fuzzer = spawn(
      st,
      [
        'run',
        `${api.url}/openapi.json`,
        '--checks',
        'all',
        // Stateful sequences need links between operations, which this API has none of.
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        String(maxExamples),
        '--seed',
        '20261202',
        '--workers',
        '2',
        '--no-color',
        '--generation-database',
        'none',
      ],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: budgetMs,
        env: {
          ...process.env,
          // The rules a schema cannot state (the clock, a range across two fields): fuzz/hooks.py.
          SCHEMATHESIS_HOOKS: 'hooks',
          PYTHONPATH: join(import.meta.dirname, 'fuzz'),
        },
      },
    )
    const [code] = await once(fuzzer, 'close')
    // No request made the API log an unhandled error (nor send a stack trace to a client).
    expect(apiLog.filter((line) => line.includes('"unhandled error"'))).toEqual([])
    expect(code, 'schemathesis failed: its summary is printed above').toBe(0)
  },
  budgetMs + 60_000,
)
