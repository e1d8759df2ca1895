/**
 * Starts the real Kafka and Elasticsearch once per test run (fetched on first use), gives this
 * run its own topics, consumer group and index, and the app's identities the privileges the
 * chart gives them (chart/files/privileges.yaml): the tests run the app as it is deployed.
 */
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import type { StackIdentity } from '../../scripts/local-stack/app-env.ts'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { startHarness } from '../../scripts/local-stack/harness.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Each identity's environment; `admin` is the stack's own, for checks the app may not make. */
    appEnv: Record<StackIdentity, Record<string, string>>
    /** A second name prefix, with the declared topics and the ACLs, for a file's own group. */
    isolatedPrefix: string
  }
}

// Two checkouts can test at once when each sets its own ICECREAM_TEST_PORT_BASE (default 29000).
const portBase = Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000)

export default async function setup(project: TestProject) {
  const run = `run-${Date.now().toString(36)}`
  const harness = startHarness({
    dataDir: join(cacheDir(), portBase === 29_000 ? 'test-stack' : `test-stack-${portBase}`),
    ports: { kafka: portBase + 92, elasticsearch: portBase + 200 },
    run: { name: run },
    // `KAFKA_CLIENT=platformatic npm test -- --project integration`: the same tests on the other adapter.
    env: process.env.KAFKA_CLIENT ? { KAFKA_CLIENT: process.env.KAFKA_CLIENT } : {},
    log: (line) => process.stderr.write(`[test stack] ${line}\n`),
  })
  const { env } = await harness.ready
  const isolatedPrefix = `${run}.isolated.`
  await harness.addNames(isolatedPrefix)
  project.provide('appEnv', env)
  project.provide('isolatedPrefix', isolatedPrefix)
  // The stack's data outlives the run (warm starts); this run's topics, ACLs and index do not.
  return () => harness.stop()
}
