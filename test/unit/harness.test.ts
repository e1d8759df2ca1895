/** The local harness's process helper on real child processes (no Kafka or Elasticsearch). */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startAppProcess } from '../../scripts/local-stack/harness.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'harness-test-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))
// Starting Node with tsx takes seconds on a busy machine.
const startup = { timeout: 30_000 }

test('resolves once /readyz answers 200, and stop() ends the process once', startup, async () => {
  const server = await startAppProcess({
    name: 'bare',
    env: {},
    output: join(dir, 'bare.log'),
    entry: 'bench/bare-http.ts',
  })
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
  const stopping = server.stop()
  expect(server.stop()).toBe(stopping)
  // The bare server has no SIGTERM handler: the signal ends it, so there is no exit code.
  expect(await stopping).toBeNull()
  await expect(fetch(`${server.url}/readyz`)).rejects.toThrow()
})

test(
  'a process that exits before it is ready fails the start with its last output',
  startup,
  async () => {
    const started = startAppProcess({
      name: 'api',
      env: { ROLE: 'api', KAFKA_BROKERS: '', ELASTICSEARCH_URL: 'https://127.0.0.1:1' },
      output: join(dir, 'api.log'),
    })
    await expect(started).rejects.toThrow(
      /the api process exited \(2\) before it was ready; .*api\.log:\nInvalid configuration:\n {2}KAFKA_BROKERS/,
    )
  },
)
