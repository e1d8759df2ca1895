/** Starts the real app (runtime/app.ts startApp, a role of runtime/main.ts) in the test process, against the test stack. */
import { randomUUID } from 'node:crypto'
import { expect, inject } from 'vitest'
import { type RunningApp, startApp } from '../../runtime/app.ts'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { Consumer, IncomingMessage } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { roles } from '../../runtime/main.ts'
import { type AppProcess, startAppProcess } from '../../scripts/local-stack/harness.ts'

type Role = 'api' | 'consumer'
type Overrides = Record<string, string> & { ROLE?: Role }

/**
 * The environment of an app process on the test stack: this run's name prefix and index, and the
 * Kafka and Elasticsearch users of its role (the API's unless ROLE says otherwise), with the
 * privileges the chart gives them.
 */
export function testEnvironment(overrides: Overrides = {}): Record<string, string> {
  const role = overrides.ROLE ?? 'api'
  const env = inject('appEnv')[role]
  return { ...env, ROLE: role, LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', ...overrides }
}

export function testConfig(overrides: Overrides = {}): Config {
  return loadConfig(testEnvironment(overrides))
}

/** The stack's own users, for what the tests check and the app may not do (any group, any index). */
export function adminConfig(): Config {
  return loadConfig({ ...inject('appEnv').admin, LOG_LEVEL: 'warn' })
}

export interface TestApp extends RunningApp {
  url: string
}

export async function startTestApp(overrides: Overrides & { ROLE: Role }): Promise<TestApp> {
  const config = testConfig(overrides)
  const app = await startApp(
    config,
    createLogger(config.LOG_LEVEL, config.ROLE),
    roles[overrides.ROLE],
  )
  return { ...app, url: `http://127.0.0.1:${app.port}` }
}

export interface TestPipeline extends TestApp {
  /** The consumer's health and metrics. */
  consumerUrl: string
}

/**
 * The whole pipeline as the chart runs it: an API and a consumer, each as its own identity (one
 * process cannot be both: neither user may do the other's work). `url` is the API's.
 */
export async function startTestPipeline(overrides: Overrides = {}): Promise<TestPipeline> {
  const [api, consumer] = await Promise.all([
    startTestApp({ ...overrides, ROLE: 'api' }),
    startTestApp({ ...overrides, ROLE: 'consumer' }),
  ])
  return {
    ...api,
    consumerUrl: consumer.url,
    stop: async () => {
      await Promise.all([api.stop(), consumer.stop()])
    },
  }
}

/** How long vi.waitFor and expect.poll wait here for what Kafka and Elasticsearch do. */
export const patience = { timeout: 30_000, interval: 250 }

/** The Kafka name of a declared topic in this run (or under `prefix`). */
export const testTopic = (name: string, prefix = testConfig().KAFKA_NAME_PREFIX) =>
  kafkaName(prefix, name)

const testKafka = () => createKafkaClient(adminConfig(), createLogger('warn', 'test'))

/**
 * A name prefix of its own, with the declared topics and the identities' ACLs under it (made by
 * the global setup), for a file whose consumer group must not meet the members other files
 * started and stopped.
 */
export const isolatedPrefix = () => inject('isolatedPrefix')

/** The app as a child process (`node runtime/main.ts`, as a pod runs it) on the test stack. */
export function startTestProcess(
  overrides: Overrides & { ROLE: Role },
  output: (line: string) => void,
): Promise<AppProcess> {
  return startAppProcess({ name: overrides.ROLE ?? 'app', env: testEnvironment(overrides), output })
}

export async function postPurchase(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** POSTs all bodies at once and expects every one to be acknowledged with 202. */
export async function postAccepted(url: string, bodies: Record<string, unknown>[]): Promise<void> {
  const statuses = await Promise.all(
    bodies.map(async (body) => (await postPurchase(url, body)).status),
  )
  expect(statuses.filter((status) => status !== 202)).toEqual([])
}

/**
 * Reads `topic` from its beginning with a throw-away consumer group, handing each message and
 * its partition to `onMessage`. Stop the returned consumer when done.
 */
export async function readTopic(
  topic: string,
  onMessage: (message: IncomingMessage, partition: number) => void,
): Promise<Consumer> {
  const reader = await testKafka().consumer({
    group: `test-reader-${randomUUID()}`,
    topic,
    concurrency: 1,
  })
  await reader.start(async (batch) => {
    for (const message of batch.messages) onMessage(message, batch.partition)
    const last = batch.messages.at(-1)
    if (last) await batch.commitThrough(last.offset)
  })
  return reader
}

/** Reads the index directly: how many documents, and which purchase ids, a set of shops has. */
export async function storedPurchaseIds(shopIds: string[]): Promise<string[]> {
  const config = adminConfig()
  const client = createElasticsearchClient(config)
  try {
    await client.indices.refresh({ index: config.ELASTICSEARCH_INDEX })
    const response = await client.search<{ purchase_id: string }>({
      index: config.ELASTICSEARCH_INDEX,
      size: 10_000,
      query: { terms: { shop_id: shopIds } },
      _source: ['purchase_id'],
    })
    return response.hits.hits.map((hit) => hit._source?.purchase_id ?? '')
  } finally {
    await client.close()
  }
}
