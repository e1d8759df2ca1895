/** Starts the real app (runtime/main.ts's startApp) in the test process, against the test stack. */
import { randomUUID } from 'node:crypto'
import { expect, inject } from 'vitest'
import type { TopicName } from '../../handlers/topics.ts'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { Consumer, IncomingMessage } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { kafkaName, topicSpecs } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { type RunningApp, startApp } from '../../runtime/main.ts'
import { type AppProcess, startAppProcess } from '../../scripts/local-stack/harness.ts'

/** The environment variables of an app on the test stack: this run's names prefix and index. */
export function testEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  return { ...inject('appEnv'), LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', ...overrides }
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(testEnvironment(overrides))
}

export interface TestApp extends RunningApp {
  url: string
}

export async function startTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = testConfig(overrides)
  const app = await startApp(config, createLogger(config.LOG_LEVEL, config.ROLE))
  return { ...app, url: `http://127.0.0.1:${app.port}` }
}

/** How long vi.waitFor and expect.poll wait here for what Kafka and Elasticsearch do. */
export const patience = { timeout: 30_000, interval: 250 }

/** The Kafka name of a declared topic in this run (or under `prefix`). */
export const testTopic = (name: TopicName, prefix = testConfig().KAFKA_NAME_PREFIX) =>
  kafkaName(prefix, name)

const testKafka = () => createKafkaClient(testConfig(), createLogger('warn', 'test'))

/**
 * A KAFKA_NAME_PREFIX of its own with the declared topics created under it, for a file whose
 * consumer group must not meet the members other files started and stopped.
 */
export async function ownKafkaNames(): Promise<{ prefix: string; remove(): Promise<void> }> {
  const prefix = `${testConfig().KAFKA_NAME_PREFIX}${randomUUID()}.`
  const topics = topicSpecs(prefix, testConfig().KAFKA_BROKERS.length)
  const admin = await testKafka().admin()
  await admin.ensureTopics(topics)
  return {
    prefix,
    async remove() {
      await admin.deleteTopics(topics.map((topic) => topic.name))
      await admin.disconnect()
    },
  }
}

/** The app as a child process (`node runtime/main.ts`, as a pod runs it) on the test stack. */
export function startTestProcess(
  overrides: Record<string, string>,
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
  const config = testConfig()
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
