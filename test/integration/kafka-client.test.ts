/**
 * The Kafka port's contract, run against every adapter on the real broker: what the subscriber
 * runner, the publisher and the health checks rely on, whichever client is underneath.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import type { Config } from '../../runtime/config.ts'
import type {
  Admin,
  Consumer,
  IncomingMessage,
  KafkaClient,
  PartitionBatch,
  Producer,
} from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { type AppLogger, createLogger } from '../../runtime/logger.ts'
import { adminConfig, testConfig } from '../support/app.ts'

const adapters = (['kafkajs', 'platformatic'] as const).map((name) => ({
  name,
  create: (config: Config, logger: AppLogger): KafkaClient =>
    createKafkaClient({ ...config, KAFKA_CLIENT: name }, logger),
}))

/** Rebalances ride on heartbeats (seconds apart), so waits are generous; none is a sleep. */
const patiently = { timeout: 45_000, interval: 100 }

interface Received extends IncomingMessage {
  partition: number
}

const text = (message: { value: Buffer | null }) => message.value?.toString('utf8') ?? ''
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)

describe.each(adapters)('the $name adapter', ({ name, create }) => {
  const logger = createLogger('warn', `kafka-client-${name}`)
  // Its own topics and groups: the stack's admin, not one of the app's identities.
  const client = create(adminConfig(), logger)
  const createdTopics: string[] = []
  const running: Consumer[] = []
  let admin: Admin
  let producer: Producer

  beforeAll(async () => {
    admin = await client.admin()
    producer = await client.producer()
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((consumer) => consumer.stop()))
  })
  afterAll(async () => {
    await producer?.disconnect()
    if (createdTopics.length > 0) await admin?.deleteTopics(createdTopics)
    await admin?.disconnect()
  })

  async function newTopic(partitions: number): Promise<string> {
    const topic = `contract-${name}-${randomUUID()}`
    createdTopics.push(topic)
    await admin.ensureTopics([{ name: topic, partitions, replicationFactor: 1 }])
    return topic
  }

  const newGroup = () => `contract-${name}-${randomUUID()}`

  async function consume(
    topic: string,
    handle: (batch: PartitionBatch) => Promise<void>,
    { group = newGroup(), concurrency = 3 } = {},
  ): Promise<Consumer> {
    const consumer = await client.consumer({ group, topic, concurrency })
    running.push(consumer)
    await consumer.start(handle)
    return consumer
  }

  /** Records every message, then commits through the batch's last one unless told not to. */
  function collectInto(received: Received[], { commit = true } = {}) {
    return async (batch: PartitionBatch) => {
      for (const message of batch.messages)
        received.push({ ...message, partition: batch.partition })
      const last = batch.messages.at(-1)
      if (commit && last) await batch.commitThrough(last.offset)
    }
  }

  test('keys keep their partition and order; every message arrives once', async () => {
    const topic = await newTopic(3)
    const keys = Array.from({ length: 8 }, (_, index) => `shop-${index + 1}`)
    const sent = Array.from({ length: 25 }, (_, round) =>
      keys.map((key) => ({ key, value: `${key}:${round}` })),
    ).flat()
    await producer.send([{ topic, messages: sent.slice(0, 100) }])
    await producer.send([{ topic, messages: sent.slice(100) }])

    const received: Received[] = []
    const busy = new Set<number>()
    let mostAtOnce = 0
    let overlaps = 0
    const collect = collectInto(received)
    await consume(
      topic,
      async (batch) => {
        if (busy.has(batch.partition)) overlaps++
        busy.add(batch.partition)
        mostAtOnce = Math.max(mostAtOnce, busy.size)
        // Yields, so that batches of other partitions can overlap with this one.
        await new Promise((resolve) => setImmediate(resolve))
        await collect(batch)
        busy.delete(batch.partition)
      },
      { concurrency: 2 },
    )

    await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(sent.length), patiently)
    expect(received.map(text).sort()).toEqual(sent.map((message) => message.value).sort())
    expect(overlaps, 'two batches of one partition at once').toBe(0)
    expect(mostAtOnce).toBeLessThanOrEqual(2)
    for (const key of keys) {
      const ofKey = received.filter((message) => message.key?.toString() === key)
      expect(ofKey.map(text)).toEqual(sent.filter((m) => m.key === key).map((m) => m.value))
      expect(new Set(ofKey.map((message) => message.partition)).size).toBe(1)
    }
    for (const partition of [0, 1, 2]) {
      const offsets = received.filter((m) => m.partition === partition).map((m) => m.offset)
      expect(offsets).toEqual(offsets.toSorted((a, b) => (a < b ? -1 : 1)))
    }
    // The partitions Kafka's Java client picks for these keys (murmur2, sign bit cleared).
    const partitionOf = Object.fromEntries(
      received.map((message) => [message.key?.toString(), message.partition]),
    )
    expect(partitionOf).toEqual({
      'shop-1': 2,
      'shop-2': 1,
      'shop-3': 0,
      'shop-4': 1,
      'shop-5': 1,
      'shop-6': 1,
      'shop-7': 2,
      'shop-8': 2,
    })
  })

  test('headers, a null key, binary values and the create time round-trip', async () => {
    const topic = await newTopic(1)
    const before = Date.now()
    const binary = Buffer.from([0, 1, 2, 254, 255])
    const headers = {
      'dead-letter.reason': 'schema: café ✓',
      'dead-letter.attempts': '3',
      empty: '',
    }
    await producer.send([
      {
        topic,
        messages: [
          { key: null, value: binary, headers },
          { key: 'shop-1', value: 'plain' },
        ],
      },
    ])

    const received: Received[] = []
    await consume(topic, collectInto(received))
    await vi.waitFor(() => expect(received).toHaveLength(2), patiently)
    const [first, second] = received
    expect(first?.key).toBeNull()
    expect(first?.value).toEqual(binary)
    expect(first?.headers).toEqual(headers)
    expect(second?.key?.toString()).toBe('shop-1')
    expect(second?.headers).toEqual({})
    expect(received.map((message) => message.offset)).toEqual([0n, 1n])
    for (const message of received) {
      expect(message.timestamp).toBeGreaterThanOrEqual(before)
      expect(message.timestamp).toBeLessThanOrEqual(Date.now())
    }
  })

  test('a member of the same group continues after the committed offset', async () => {
    const topic = await newTopic(1)
    const group = newGroup()
    await producer.send([
      { topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: `m${i}` })) },
    ])

    const seen: IncomingMessage[] = []
    const first = await consume(
      topic,
      async (batch) => {
        for (const message of batch.messages) {
          seen.push(message)
          if (message.offset === 3n) await batch.commitThrough(3n)
        }
      },
      { group },
    )
    await vi.waitFor(() => expect(seen).toHaveLength(10), patiently)
    await first.stop()

    const received: Received[] = []
    await consume(topic, collectInto(received), { group })
    await vi.waitFor(() => expect(received).toHaveLength(6), patiently)
    expect(received.map((message) => message.offset)).toEqual([4n, 5n, 6n, 7n, 8n, 9n])
    expect(received.map(text)).toEqual(['m4', 'm5', 'm6', 'm7', 'm8', 'm9'])
  })

  test('without a commit, the next member reads everything again', async () => {
    const topic = await newTopic(1)
    const group = newGroup()
    await producer.send([
      { topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: 'k', value: `m${i}` })) },
    ])

    const first: Received[] = []
    const reader = await consume(topic, collectInto(first, { commit: false }), { group })
    await vi.waitFor(() => expect(first).toHaveLength(5), patiently)
    await reader.stop()

    const again: Received[] = []
    await consume(topic, collectInto(again), { group })
    await vi.waitFor(() => expect(again).toHaveLength(5), patiently)
    expect(again.map((message) => message.offset)).toEqual([0n, 1n, 2n, 3n, 4n])
  })

  test('a batch whose handler rejects is not committed and comes again', async () => {
    const topic = await newTopic(1)
    await producer.send([
      { topic, messages: Array.from({ length: 3 }, (_, i) => ({ key: 'k', value: `m${i}` })) },
    ])

    const received: Received[] = []
    const collect = collectInto(received)
    let failed = false
    await consume(topic, async (batch) => {
      if (!failed) {
        failed = true
        throw new Error('handler failed')
      }
      await collect(batch)
    })
    await vi.waitFor(() => expect(received).toHaveLength(3), patiently)
    expect(received.map((message) => message.offset)).toEqual([0n, 1n, 2n])
  })

  test('a paused consumer gets nothing new until it resumes', async () => {
    const topic = await newTopic(2)
    const batch = (round: string) => ({
      topic,
      messages: ['shop-1', 'shop-2', 'shop-3', 'shop-4'].map((key) => ({
        key,
        value: `${round}:${key}`,
      })),
    })
    const received: Received[] = []
    const consumer = await consume(topic, collectInto(received))
    await producer.send([batch('first')])
    await vi.waitFor(() => expect(received).toHaveLength(4), patiently)

    consumer.pause()
    await producer.send([batch('second')])
    // Another group reading the whole topic shows the messages were there to be fetched.
    const witness: Received[] = []
    await consume(topic, collectInto(witness))
    await vi.waitFor(() => expect(witness).toHaveLength(8), patiently)
    expect(received).toHaveLength(4)

    consumer.resume()
    await vi.waitFor(() => expect(received).toHaveLength(8), patiently)
    expect(received.slice(4).map(text).sort()).toEqual(batch('second').messages.map((m) => m.value))
  })

  test('stop lets the batch in flight finish, and its commit lands', async () => {
    const topic = await newTopic(1)
    const group = newGroup()
    await producer.send([
      { topic, messages: Array.from({ length: 3 }, (_, i) => ({ key: 'k', value: `m${i}` })) },
    ])

    const started = Promise.withResolvers<PartitionBatch>()
    const finish = Promise.withResolvers<void>()
    const consumer = await consume(
      topic,
      async (batch) => {
        started.resolve(batch)
        await finish.promise
        const last = batch.messages.at(-1)
        if (last) await batch.commitThrough(last.offset)
      },
      { group },
    )
    const batch = await started.promise
    const stopping = consumer.stop()
    // Stopping is not losing the partition: the batch is not told to abandon its work.
    expect(batch.signal.aborted).toBe(false)
    finish.resolve()
    await stopping
    expect(batch.signal.aborted).toBe(false)
    expect(batch.messages).toHaveLength(3)
    expect(await admin.lag(group, topic)).toEqual([{ partition: 0, committed: 3, end: 3, lag: 0 }])
  })

  test('two members split the partitions; a lost partition aborts its batch; a stop moves partitions back', async () => {
    const topic = await newTopic(4)
    const group = newGroup()
    const keys = Array.from({ length: 40 }, (_, index) => `shop-${index}`)
    const round = (label: string) => ({
      topic,
      messages: keys.map((key) => ({ key, value: `${label}:${key}` })),
    })
    await producer.send([round('first')])

    // The first member holds every batch until the batch's signal aborts or it is let go.
    const letGo = Promise.withResolvers<void>()
    const held = new Set<number>()
    const aborted = new Set<number>()
    const committedAfterAbort: number[] = []
    const firstMember: Received[] = []
    await consume(
      topic,
      async (batch) => {
        held.add(batch.partition)
        await new Promise((resolve) => {
          batch.signal.addEventListener('abort', resolve)
          letGo.promise.then(resolve)
        })
        const last = batch.messages.at(-1)
        if (!last) return
        if (batch.signal.aborted) {
          aborted.add(batch.partition)
          // Whatever the adapter does with it, a commit from here must not land.
          await batch.commitThrough(last.offset).then(
            () => committedAfterAbort.push(batch.partition),
            () => {},
          )
          return
        }
        for (const message of batch.messages) {
          firstMember.push({ ...message, partition: batch.partition })
        }
        await batch.commitThrough(last.offset)
      },
      { group, concurrency: 4 },
    )
    await vi.waitFor(() => expect(held).toEqual(new Set([0, 1, 2, 3])), patiently)

    const secondMember: Received[] = []
    const second = await consume(topic, collectInto(secondMember), { group, concurrency: 4 })
    // The second member gets a share, and only of what the first member gave up.
    await vi.waitFor(() => {
      const taken = new Set(secondMember.map((message) => message.partition))
      expect(taken.size).toBeGreaterThan(0)
      expect(taken.size).toBeLessThan(4)
      for (const partition of taken) expect(aborted.has(partition)).toBe(true)
    }, patiently)
    letGo.resolve()
    await vi.waitFor(
      () => expect(firstMember.length + secondMember.length).toBe(keys.length),
      patiently,
    )
    const firstPartitions = new Set(firstMember.map((message) => message.partition))
    const secondPartitions = new Set(secondMember.map((message) => message.partition))
    expect([...firstPartitions].filter((p) => secondPartitions.has(p))).toEqual([])
    expect(committedAfterAbort.filter((p) => secondPartitions.has(p))).toEqual([])

    // The second member leaves: the first one gets every partition again.
    await second.stop()
    const before = firstMember.length
    await producer.send([round('second')])
    await vi.waitFor(() => expect(firstMember.length - before).toBe(keys.length), patiently)
    expect(new Set(firstMember.slice(before).map((message) => message.partition))).toEqual(
      new Set([0, 1, 2, 3]),
    )
    await expect
      .poll(async () => sum((await admin.lag(group, topic)).map((p) => p.lag)), patiently)
      .toBe(0)
  })

  test('lag counts from the earliest offset before any commit, and is zero after', async () => {
    const topic = await newTopic(2)
    const group = newGroup()
    await producer.send([
      {
        topic,
        messages: Array.from({ length: 6 }, (_, i) => ({ key: `shop-${i}`, value: `m${i}` })),
      },
    ])

    const before = await admin.lag(group, topic)
    expect(before.map((p) => p.partition)).toEqual([0, 1])
    expect(before.map((p) => p.committed)).toEqual([0, 0])
    expect(before.map((p) => p.lag)).toEqual(before.map((p) => p.end))
    expect(sum(before.map((p) => p.end))).toBe(6)

    await consume(topic, collectInto([]), { group })
    await expect
      .poll(async () => sum((await admin.lag(group, topic)).map((p) => p.lag)), patiently)
      .toBe(0)
    const after = await admin.lag(group, topic)
    expect(after.map((p) => p.committed)).toEqual(before.map((p) => p.end))
  })

  test("offsets tell each partition's retained range; members tell who owns which partitions", async () => {
    const topic = await newTopic(4)
    const group = newGroup()
    await producer.send([
      {
        topic,
        messages: Array.from({ length: 8 }, (_, i) => ({ key: `shop-${i}`, value: `m${i}` })),
      },
    ])
    const offsets = await admin.offsets(topic)
    expect(offsets.map((p) => [p.partition, p.start])).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ])
    expect(sum(offsets.map((p) => p.end))).toBe(8)

    expect(await admin.members(group, topic)).toEqual([])
    await consume(topic, collectInto([]), { group })
    await consume(topic, collectInto([]), { group })
    // Both members own partitions once the group settles, every partition exactly once.
    await expect
      .poll(async () => {
        const members = await admin.members(group, topic)
        return members.length === 2 && members.every((m) => m.partitions.length > 0)
          ? members.flatMap((m) => m.partitions).sort()
          : []
      }, patiently)
      .toEqual([0, 1, 2, 3])
  })

  test('ensureTopics creates what is missing, at once from two places, and leaves the rest', async () => {
    const topic = `contract-${name}-${randomUUID()}`
    createdTopics.push(topic)
    const spec = {
      name: topic,
      partitions: 3,
      replicationFactor: 1,
      config: { 'retention.ms': '3600000' },
    }
    const other = await client.admin()
    try {
      await Promise.all([admin.ensureTopics([spec]), other.ensureTopics([spec])])
    } finally {
      await other.disconnect()
    }
    await admin.ensureTopics([{ ...spec, partitions: 5 }])
    expect(await admin.lag(newGroup(), topic)).toHaveLength(3)
  })

  test('a send the broker refuses for good is a SendRefusedError: no permission, too large', async () => {
    const small = `contract-${name}-${randomUUID()}`
    createdTopics.push(small)
    await admin.ensureTopics([
      { name: small, partitions: 1, replicationFactor: 1, config: { 'max.message.bytes': '2048' } },
    ])
    await expect(
      producer.send([{ topic: small, messages: [{ key: 'k', value: 'x'.repeat(4096) }] }]),
    ).rejects.toMatchObject({ name: 'SendRefusedError', refusal: 'too large' })

    // The API's identity may write only to its own topic.
    const api = create(testConfig({ ROLE: 'api' }), logger)
    const apiProducer = await api.producer()
    try {
      await expect(
        apiProducer.send([{ topic: small, messages: [{ key: 'k', value: 'x' }] }]),
      ).rejects.toMatchObject({ name: 'SendRefusedError', refusal: 'authorization' })
    } finally {
      await apiProducer.disconnect()
    }
  })

  test('ping answers on the broker and fails against a closed port', async () => {
    await admin.ping()

    const server = createServer()
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const address = server.address()
        resolve(typeof address === 'object' && address ? address.port : 0)
      }),
    )
    await new Promise((resolve) => server.close(resolve))
    const nowhere = create({ ...adminConfig(), KAFKA_BROKERS: [`127.0.0.1:${port}`] }, logger)
    const pinged = (async () => {
      const closed = await nowhere.admin()
      try {
        await closed.ping()
      } finally {
        await closed.disconnect()
      }
    })()
    await expect(pinged).rejects.toThrow()
  })
})
