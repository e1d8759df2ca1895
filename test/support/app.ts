/** Starts the real app (runtime/main.ts's startApp) in the test process, against the test stack. */
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect, inject } from 'vitest'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { Consumer, IncomingMessage } from '../../runtime/kafka/broker.ts'
import { createKafkaBroker } from '../../runtime/kafka/kafkajs.ts'
import { createLogger } from '../../runtime/logger.ts'
import { type RunningApp, startApp } from '../../runtime/main.ts'

type Role = 'api' | 'consumer'

/**
 * The environment of an app process on the test stack: this run's topics, group and index, and
 * the Kafka and Elasticsearch users of its role, with the privileges the chart gives them.
 */
export function testEnvironment(
  overrides: Record<string, string> & { ROLE?: Role } = {},
): Record<string, string> {
  const role = overrides.ROLE ?? 'api'
  return {
    ...inject('appEnv')[role],
    ROLE: role,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    ...overrides,
  }
}

/** The stack's own identities, for what the tests check and the app may not do (read any group, any index). */
export function adminConfig(): Config {
  return loadConfig({ ...inject('appEnv').admin, LOG_LEVEL: 'warn' })
}

export function testConfig(overrides: Record<string, string> & { ROLE?: Role } = {}): Config {
  return loadConfig(testEnvironment(overrides))
}

export interface TestApp extends RunningApp {
  url: string
}

export async function startTestApp(
  overrides: Record<string, string> & { ROLE: Role },
): Promise<TestApp> {
  const config = testConfig(overrides)
  const app = await startApp(config, createLogger(config.LOG_LEVEL, config.ROLE))
  return { ...app, url: `http://127.0.0.1:${app.port}` }
}

/**
 * The whole pipeline as the chart runs it: an API and a consumer, each as its own identity
 * (one process cannot be both: neither user may do the other's work). `url` is the API's.
 */
export interface TestPipeline extends TestApp {
  /** The consumer's health and metrics. */
  consumerUrl: string
}

export async function startTestPipeline(
  overrides: Record<string, string> = {},
): Promise<TestPipeline> {
  const [api, consumer] = await Promise.all([
    startTestApp({ ...overrides, ROLE: 'api' }),
    startTestApp({ ...overrides, ROLE: 'consumer' }),
  ])
  return {
    ...api,
    consumerUrl: consumer.url,
    runners: consumer.runners,
    stop: async () => {
      await Promise.all([api.stop(), consumer.stop()])
    },
  }
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(250)
  }
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
  const reader = await createKafkaBroker(adminConfig(), createLogger('warn', 'test')).consumer(
    `test-reader-${randomUUID()}`,
  )
  await reader.run(topic, async ({ partition, messages }, context) => {
    for (const message of messages) onMessage(message, partition)
    const last = messages.at(-1)
    if (last) await context.commit(String(BigInt(last.offset) + 1n))
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
