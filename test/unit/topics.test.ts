import { expect, test } from 'vitest'
import { topics } from '../../handlers/topics.ts'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { allSubscribers, allTopics } from '../../runtime/load-handlers.ts'

test("the product's topics: purchases and its dead letters (1 MiB batches), replicated, min ISR 2; every root's are gathered", async () => {
  expect(topics).toEqual({
    purchases: {
      partitions: 6,
      replicationFactor: 3,
      config: { 'min.insync.replicas': 2, 'retention.ms': 7 * 24 * 3600 * 1000 },
    },
    'purchases.dead-letter': {
      partitions: 1,
      replicationFactor: 3,
      config: {
        'min.insync.replicas': 2,
        'retention.ms': 28 * 24 * 3600 * 1000,
        'max.message.bytes': 1024 * 1024,
      },
    },
  })
  expect(await allTopics()).toMatchObject(topics)
})

test('topic specs: prefixed names, declared partitions, config as Kafka strings', async () => {
  expect(await topicSpecs('run-1.', 3)).toEqual(
    expect.arrayContaining([
      {
        name: 'run-1.purchases',
        partitions: 6,
        replicationFactor: 3,
        config: { 'min.insync.replicas': '2', 'retention.ms': '604800000' },
      },
      {
        name: 'run-1.purchases.dead-letter',
        partitions: 1,
        replicationFactor: 3,
        config: {
          'min.insync.replicas': '2',
          'retention.ms': '2419200000',
          'max.message.bytes': '1048576',
        },
      },
    ]),
  )
})

test('on one broker, replication and min ISR shrink to 1 so writes are still accepted', async () => {
  for (const spec of await topicSpecs('', 1)) {
    expect(spec.replicationFactor).toBe(1)
    expect(spec.config?.['min.insync.replicas']).toBe('1')
  }
})

test('each subscriber reads a declared topic in a group of its own, dead letters to a declared topic', async () => {
  const [subscribers, declared] = await Promise.all([allSubscribers(), allTopics()])
  expect(subscribers.map((s) => [s.topic, s.delivery])).toContainEqual(['purchases', 'group'])
  for (const subscriber of subscribers) {
    expect(Object.keys(declared)).toContain(subscriber.topic)
    if (subscriber.deadLetter) expect(Object.keys(declared)).toContain(subscriber.deadLetter)
  }
  const groups = subscribers.map((subscriber) => subscriber.group)
  expect(new Set(groups).size).toBe(groups.length)
})
