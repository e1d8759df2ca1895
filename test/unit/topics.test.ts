import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect, test } from 'vitest'
import { topicSpecs } from '../../runtime/kafka/topics.ts'
import { declarations, generated } from '../../scripts/chart/declarations.ts'

// Every root's declarations (the product's, and a feature's when its folder is there).
const { topics, subscribers } = await declarations()

test('every declared topic is replicated 3 times and takes a write only with 2 replicas in sync', () => {
  expect(Object.keys(topics)).toEqual(
    expect.arrayContaining(['purchases', 'purchases.dead-letter']),
  )
  for (const [name, topic] of Object.entries(topics)) {
    expect(topic.replicationFactor, name).toBe(3)
    expect(topic.config['min.insync.replicas'], name).toBe(2)
    expect(topic.partitions, name).toBeGreaterThan(0)
  }
})

test('a dead-letter topic declares 1 MiB batches (max.message.bytes), the size the runtime cuts dead letters to', () => {
  const deadLetters = subscribers.flatMap((s) => (s.deadLetter ? [s.deadLetter] : []))
  expect(deadLetters.length).toBeGreaterThan(0)
  for (const name of deadLetters) {
    expect(topics[name]?.config['max.message.bytes'], name).toBe(1024 * 1024)
  }
})

test('topic specs: prefixed names, declared partitions, config as Kafka strings', async () => {
  const specs = await topicSpecs('run-1.', 3)
  expect(specs).toEqual(
    Object.entries(topics).map(([name, topic]) => ({
      name: `run-1.${name}`,
      partitions: topic.partitions,
      replicationFactor: 3,
      config: Object.fromEntries(
        Object.entries(topic.config).map(([key, value]) => [key, String(value)]),
      ),
    })),
  )
  expect(specs.find((spec) => spec.name === 'run-1.purchases')?.config).toEqual({
    'min.insync.replicas': '2',
    'retention.ms': '604800000',
  })
})

test('on one broker, replication and min ISR shrink to 1 so writes are still accepted', async () => {
  for (const spec of await topicSpecs('', 1)) {
    expect(spec.replicationFactor).toBe(1)
    expect(spec.config?.['min.insync.replicas']).toBe('1')
  }
})

test('each subscriber reads a declared topic in a group of its own, dead letters to a declared topic', () => {
  expect(subscribers.map((s) => [s.topic, s.delivery])).toContainEqual(['purchases', 'group'])
  for (const subscriber of subscribers) {
    expect(Object.keys(topics)).toContain(subscriber.topic)
    if (subscriber.deadLetter) expect(Object.keys(topics)).toContain(subscriber.deadLetter)
  }
  const groups = subscribers.map((subscriber) => subscriber.group)
  expect(new Set(groups).size).toBe(groups.length)
})

test.each(
  (await generated()).map(({ file, content }) => ({ name: path.basename(file), file, content })),
)(
  'chart/files/$name is what the declarations generate (node scripts/chart/declarations.ts --write)',
  ({ file, content }) => {
    expect(readFileSync(file, 'utf8')).toBe(content)
  },
)
