/**
 * Schemathesis against the API's own OpenAPI document, every check: no server error, and no
 * difference between what the document promises and what the code takes or answers. The API
 * runs as a process with its own identity, on the test stack.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { AppProcess } from '../../scripts/local-stack/harness.ts'
import { startTestProcess } from '../support/app.ts'

const repoRoot = join(import.meta.dirname, '..', '..')
/** Cases per operation and phase: enough to reach every constraint, a few minutes at most. */
const maxExamples = 100

let api: AppProcess
const apiLog: string[] = []

/** Runs a command, its stderr passed through (progress), and resolves with its exit code and stdout. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
  })
  const [code] = await once(child, 'close')
  return { code: code as number | null, stdout }
}

beforeAll(async () => {
  api = await startTestProcess({ ROLE: 'api' }, (line) => apiLog.push(line))
}, 120_000)
afterAll(() => api?.stop())

test('schemathesis finds no server error and no mismatch with the OpenAPI document', async () => {
  // Makes the virtual environment on first use (with progress), then only prints its path.
  const installed = await run('bash', ['scripts/tools/schemathesis.sh'])
  expect(installed.code).toBe(0)
  const st = installed.stdout.trim()

  const { code, stdout } = await run(
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
      ...process.env,
      // The rules a schema cannot state (the clock, a range across two fields): fuzz/hooks.py.
      SCHEMATHESIS_HOOKS: 'hooks',
      PYTHONPATH: join(import.meta.dirname, 'fuzz'),
    },
  )
  process.stdout.write(stdout)
  // No stack trace ever reaches a client, and no request made the API log an unhandled error.
  expect(apiLog.filter((line) => line.includes('"unhandled error"'))).toEqual([])
  expect(code, 'schemathesis failed: its summary is printed above').toBe(0)
}, 600_000)
