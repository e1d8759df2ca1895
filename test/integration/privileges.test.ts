/**
 * The identities have the privileges chart/files/privileges.yaml gives them, on the real Kafka
 * (StandardAuthorizer, no access without an ACL) and Elasticsearch (file-realm roles): what each
 * needs works, and what it must not do is refused.
 */
import { randomUUID } from 'node:crypto'
import { afterAll, describe, expect, inject, test } from 'vitest'
import { type Config, loadConfig } from '../../runtime/config.ts'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import { createKafkaBroker } from '../../runtime/kafka/kafkajs.ts'
import { createLogger } from '../../runtime/logger.ts'
import { adminConfig, testConfig } from '../support/app.ts'
import { purchaseBody } from '../support/purchases.ts'

const closers: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

const broker = (config: Config) => createKafkaBroker(config, createLogger('silent', 'test'))

async function produce(config: Config, topic: string): Promise<void> {
  const producer = await broker(config).producer()
  closers.push(() => producer.disconnect())
  await producer.send([{ topic, messages: [{ key: 'k', value: JSON.stringify(purchaseBody()) }] }])
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

  test('the API writes the purchases topic', async () => {
    await expect(produce(api, api.KAFKA_TOPIC)).resolves.toBeUndefined()
  })

  test('the API cannot write the dead-letter topic', async () => {
    await expect(produce(api, api.KAFKA_DEAD_LETTER_TOPIC)).rejects.toThrow(/authoriz/i)
  })

  test('the API cannot read the purchases topic in the consumers group', async () => {
    const reader = await broker(api).consumer(api.KAFKA_CONSUMER_GROUP)
    closers.push(() => reader.stop())
    // kafkajs reports the broker's GROUP_AUTHORIZATION_FAILED as "group coordinator not found".
    await expect(reader.run(api.KAFKA_TOPIC, async () => {})).rejects.toThrow(
      /coordinator|authoriz/i,
    )
  })

  test('the consumer writes dead letters but not purchases', async () => {
    await expect(produce(consumer, consumer.KAFKA_DEAD_LETTER_TOPIC)).resolves.toBeUndefined()
    await expect(produce(consumer, consumer.KAFKA_TOPIC)).rejects.toThrow(/authoriz/i)
  })

  test('the consumer cannot read in another group', async () => {
    const reader = await broker(consumer).consumer(`${randomUUID()}-other`)
    closers.push(() => reader.stop())
    await expect(reader.run(consumer.KAFKA_TOPIC, async () => {})).rejects.toThrow(
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
