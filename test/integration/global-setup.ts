/**
 * Starts the real Kafka and Elasticsearch once per test run (fetched on first use) and gives
 * this run its own topics, consumer group and index, so runs never see each other's data.
 */
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { startHarness } from '../../scripts/local-stack/harness.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    appEnv: Record<string, string>
  }
}

// Two checkouts can test at once when each sets its own ICECREAM_TEST_PORT_BASE (default 29000).
const portBase = Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000)

export default async function setup(project: TestProject) {
  const harness = startHarness({
    dataDir: join(cacheDir(), portBase === 29_000 ? 'test-stack' : `test-stack-${portBase}`),
    ports: { kafka: portBase + 92, elasticsearch: portBase + 200 },
    run: { name: `run-${Date.now().toString(36)}` },
    log: (line) => process.stderr.write(`[test stack] ${line}\n`),
  })
  project.provide('appEnv', (await harness.ready).env)
  // The stack's data outlives the run (warm starts); this run's topics and index do not.
  return () => harness.stop()
}
