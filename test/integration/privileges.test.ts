/**
 * The identities have the privileges chart/files/privileges.yaml gives them, on the real Kafka
 * (StandardAuthorizer, no access without an ACL) and Elasticsearch (file-realm roles): what each
 * needs works, and what it must not do is refused.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, inject, test } from 'vitest'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { adminConfig, testConfig, testTopic } from '../support/app.ts'
import { purchaseBody } from '../support/purchases.ts'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

const kafka = (config: Config) => createKafkaClient(config, createLogger('silent', 'test'))

async function produce(config: Config, topic: string): Promise<void> {
  const producer = await kafka(config).producer()
  closers.push(() => producer.disconnect())
  await producer.send([{ topic, messages: [{ key: 'k', value: JSON.stringify(purchaseBody()) }] }])
}

/**
 * Everything an adapter's error says: messages, causes, and the broker's error names, which
 * kafkajs puts in the message and @platformatic/kafka in nested `errors` with `apiId`.
 */
function reasons(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const { apiId, errors } = error as { apiId?: string; errors?: unknown[] }
  return [
    error.message,
    apiId ?? '',
    reasons(error.cause ?? ''),
    ...(errors ?? []).map(reasons),
  ].join(' | ')
}

/** Refused by Kafka's authorizer (TOPIC_ or GROUP_AUTHORIZATION_FAILED), whatever the adapter. */
async function refused(work: Promise<unknown>): Promise<string> {
  try {
    await work
  } catch (error) {
    return reasons(error)
  }
  return 'allowed'
}

/** Why the client gave up consuming `topic` in `group` (it never hands over a batch). */
async function refusedToConsume(config: Config, group: string, topic: string): Promise<Error> {
  const consumer = await kafka(config).consumer({ group, topic, concurrency: 1 })
  closers.push(() => consumer.stop())
  const started = consumer.start(async () => {
    throw new Error(`read a batch of ${topic} in ${group}`)
  })
  return Promise.race([
    consumer.crashed,
    started.then(
      () => consumer.crashed,
      (error) => error,
    ),
  ])
}

function elasticsearch(config: Config) {
  const client = createElasticsearchClient(config)
  closers.push(() => client.close())
  return client
}

/** The HTTP status of a refused Elasticsearch call (or 'allowed'). */
async function statusOf(call: Promise<unknown>): Promise<number | 'allowed'> {
  try {
    await call
    return 'allowed'
  } catch (error) {
    return (error as { statusCode?: number }).statusCode ?? -1
  }
}

describe('Kafka ACLs', () => {
  const api = testConfig({ ROLE: 'api' })
  const consumer = testConfig({ ROLE: 'consumer' })
  const purchases = testTopic('purchases')
  const deadLetters = testTopic('purchases.dead-letter')
  const group = kafkaName(api.KAFKA_NAME_PREFIX, storePurchases.group)

  test('the API writes the purchases topic', async () => {
    await expect(produce(api, purchases)).resolves.toBeUndefined()
  })

  test('the API cannot write the dead-letter topic', async () => {
    expect(await refused(produce(api, deadLetters))).toMatch(/authoriz/i)
  })

  test("the API cannot read the purchases topic in the consumers' group", async () => {
    // kafkajs reports the broker's GROUP_AUTHORIZATION_FAILED as "group coordinator not found".
    expect(reasons(await refusedToConsume(api, group, purchases))).toMatch(/coordinator|authoriz/i)
  })

  test('the consumer writes dead letters but not purchases', async () => {
    await expect(produce(consumer, deadLetters)).resolves.toBeUndefined()
    expect(await refused(produce(consumer, purchases))).toMatch(/authoriz/i)
  })

  test('the consumer cannot read in another group', async () => {
    const other = `${group}-${randomUUID()}`
    expect(reasons(await refusedToConsume(consumer, other, purchases))).toMatch(
      /coordinator|authoriz/i,
    )
  })

  test("the API describes the consumers' group (offsets, members) for the live page", async () => {
    const admin = await kafka(api).admin()
    closers.push(() => admin.disconnect())
    await expect(admin.lag(group, purchases)).resolves.toHaveLength(6)
    await expect(admin.members(group, purchases)).resolves.toBeInstanceOf(Array)
  })

  test('the API reads dead letters only in a group under its live-page prefix', async () => {
    const outside = kafkaName(api.KAFKA_NAME_PREFIX, `dead-letter-reader-${randomUUID()}`)
    expect(reasons(await refusedToConsume(api, outside, deadLetters))).toMatch(
      /coordinator|authoriz/i,
    )
  })

  test('the consumer cannot send consumer commands; the API cannot read purchases under its prefix', async () => {
    expect(await refused(produce(consumer, testTopic('consumers.control')))).toMatch(/authoriz/i)
    const ownPrefix = kafkaName(api.KAFKA_NAME_PREFIX, `live-page.dead-letters.${randomUUID()}`)
    expect(reasons(await refusedToConsume(api, ownPrefix, purchases))).toMatch(
      /coordinator|authoriz/i,
    )
  })
})

describe('Elasticsearch roles', () => {
  const index = adminConfig().ELASTICSEARCH_INDEX
  const document = { shop_id: randomUUID(), purchase_id: randomUUID() }
  const template = { name: `${index}-probe-template`, index_patterns: [`${index}-probe`] }

  test('the API reads the index and cannot write, delete or change it', async () => {
    const client = elasticsearch(testConfig({ ROLE: 'api' }))
    expect(await statusOf(client.search({ index, size: 0 }))).toBe('allowed')
    expect(await statusOf(client.index({ index, document }))).toBe(403)
    expect(await statusOf(client.delete({ index, id: document.purchase_id }))).toBe(403)
    expect(await statusOf(client.indices.delete({ index }))).toBe(403)
    expect(await statusOf(client.indices.putIndexTemplate(template))).toBe(403)
  })

  test('the consumer indexes documents and cannot delete them, the index or templates', async () => {
    const client = elasticsearch(testConfig({ ROLE: 'consumer' }))
    const id = randomUUID()
    expect(
      await statusOf(client.index({ index, id, document: { ...document, purchase_id: id } })),
    ).toBe('allowed')
    expect(await statusOf(client.delete({ index, id }))).toBe(403)
    expect(await statusOf(client.search({ index, size: 0 }))).toBe(403)
    expect(await statusOf(client.indices.delete({ index }))).toBe(403)
    expect(await statusOf(client.indices.create({ index: `${index}-other` }))).toBe(403)
    expect(await statusOf(client.indices.putIndexTemplate(template))).toBe(403)
  })

  test('the setup puts templates and creates the index, and cannot read, write or delete', async () => {
    const client = elasticsearch(loadConfig(inject('appEnv').setup))
    expect(await statusOf(client.indices.putIndexTemplate(template))).toBe('allowed')
    expect(await statusOf(client.index({ index, document }))).toBe(403)
    expect(await statusOf(client.search({ index, size: 0 }))).toBe(403)
    expect(await statusOf(client.indices.delete({ index }))).toBe(403)
    const admin = elasticsearch(adminConfig())
    await admin.indices.deleteIndexTemplate({ name: template.name })
  })
})
