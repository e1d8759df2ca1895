import { describe, expect, test, vi } from 'vitest'
import { z } from 'zod'
import { defineSubscriber, type SubscriberDefinition } from '../../handlers/define.ts'
import { UnavailableError } from '../../handlers/errors.ts'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import { topics } from '../../handlers/topics.ts'
import type {
  Consumer,
  ConsumerOptions,
  IncomingMessage,
  KafkaClient,
  PartitionBatch,
  TopicMessages,
} from '../../runtime/kafka/client.ts'
import { SendRefusedError } from '../../runtime/kafka/client.ts'
import { maxBatchBytes, recordBytes } from '../../runtime/kafka/dead-letters.ts'
import { chunkMessages, createSubscriberRunner } from '../../runtime/kafka/subscriber-runner.ts'
import type { AppLogger } from '../../runtime/logger.ts'
import { createMetrics } from '../../runtime/metrics.ts'
import { memoryPorts } from '../support/memory-ports.ts'
import { purchaseBody } from '../support/purchases.ts'
import { recordingLogger, silentLogger } from '../support/runtime.ts'

function message(offset: number, value: unknown): IncomingMessage {
  return {
    key: Buffer.from('shop'),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    offset: BigInt(offset),
    timestamp: 1640865600000,
    headers: {},
  }
}

const event = () => ({
  ...purchaseBody(),
  timestamp: '2021-12-30T12:00:00.000Z',
  received_at: '2021-12-30T12:00:01.000Z',
})

/** The subscriber's own policy, with waits short enough for a unit test. */
const quick: SubscriberDefinition = {
  ...storePurchases,
  retry: { ...storePurchases.retry, initialDelayMs: 1, maxDelayMs: 5 },
}

function harness(
  options: {
    maxDocuments?: number
    namePrefix?: string
    subscriber?: SubscriberDefinition
    logger?: AppLogger
  } = {},
) {
  /** Each commit as the offset the group reads next from the partition. */
  const commits: { partition: number; offset: string }[] = []
  const deadLetters: TopicMessages[] = []
  /** What the next dead-letter sends throw, one each; a send with none left is written. */
  const sendFailures: Error[] = []
  /** Per producer connected: the sends it was given, and whether it was disconnected. */
  const producerLog: { sends: number; disconnected: boolean }[] = []
  /** How many commits had been made at each dead-letter send. */
  const commitsWhenSent: number[] = []
  const consumers: ConsumerOptions[] = []
  let producers = 0
  let onBatch: ((batch: PartitionBatch) => Promise<void>) | undefined
  const consumer: Consumer = {
    start: async (handle) => {
      onBatch = handle
    },
    pause: () => {},
    resume: () => {},
    crashed: new Promise(() => {}),
    stop: async () => {},
  }
  const client: KafkaClient = {
    consumer: async (consumerOptions) => {
      consumers.push(consumerOptions)
      return consumer
    },
    producer: async () => {
      producers++
      const entry = { sends: 0, disconnected: false }
      producerLog.push(entry)
      return {
        send: async (batches) => {
          entry.sends++
          commitsWhenSent.push(commits.length)
          const failure = sendFailures.shift()
          if (failure) throw failure
          deadLetters.push(...batches)
        },
        disconnect: async () => {
          entry.disconnected = true
        },
      }
    },
    admin: () => Promise.reject(new Error('the runner needs no admin')),
  }
  const ports = memoryPorts()
  const metrics = createMetrics()
  const runner = createSubscriberRunner(
    options.subscriber ?? quick,
    client,
    ports,
    {
      namePrefix: options.namePrefix ?? '',
      concurrency: 2,
      maxDocuments: options.maxDocuments ?? 100,
      maxBytes: 1024 * 1024,
      maxRestarts: 2,
    },
    metrics,
    options.logger ?? silentLogger,
  )
  const deliver = async (
    messages: IncomingMessage[],
    partition = 0,
    signal = new AbortController().signal,
  ) => {
    if (!onBatch) await runner.start(new AbortController().signal)
    await onBatch?.({
      topic: runner.topic,
      partition,
      messages,
      signal,
      commitThrough: async (offset) => {
        commits.push({ partition, offset: String(offset + 1n) })
      },
    })
  }
  return {
    deliver,
    commits,
    deadLetters,
    ports,
    runner,
    metrics,
    consumers,
    producers: () => producers,
    sendFailures,
    producerLog,
    commitsWhenSent,
  }
}

describe('subscriber runner', () => {
  test('every-process delivery: a group of its own, nothing committed, nothing sent before it started, nothing twice', async () => {
    const handled: number[] = []
    const broadcast = defineSubscriber({
      topic: 'consumers.control',
      group: 'orders',
      delivery: 'every-process',
      deadLetter: null,
      schema: z.object({ n: z.number() }),
      handle: async (events) => {
        handled.push(...events.map((e) => e.n))
        return { rejected: [] }
      },
    })
    const { deliver, commits, consumers, runner } = harness({ subscriber: broadcast })
    const sent = (offset: number, timestamp = Date.now()) => ({
      ...message(offset, { n: offset }),
      timestamp,
    })
    const before = Date.now() - 60_000
    await deliver([sent(0, before), sent(1), sent(2)])
    // A replaced client reads the topic from its start again.
    await deliver([sent(0, before), sent(1), sent(2), sent(3)])
    expect(handled).toEqual([1, 2, 3])
    expect(commits).toEqual([])
    expect(runner.group).toMatch(/^orders\..+-\d+-\w+$/)
    expect(consumers.map((c) => c.group)).toEqual([runner.group])
  })

  test('stores a batch, then commits the offset after it', async () => {
    const { deliver, commits, ports } = harness()
    await deliver([message(10, event()), message(11, event()), message(12, event())])
    expect(ports.purchases.size).toBe(3)
    expect(commits).toEqual([{ partition: 0, offset: '13' }])
  })

  test('commits per bulk chunk', async () => {
    const { deliver, commits } = harness({ maxDocuments: 2 })
    await deliver([message(0, event()), message(1, event()), message(2, event())])
    expect(commits.map((c) => c.offset)).toEqual(['2', '3'])
  })

  test('poison messages go to the dead-letter topic with reason and origin; the rest is stored', async () => {
    const { deliver, commits, deadLetters, ports } = harness()
    await deliver([
      message(5, event()),
      message(6, '{not json'),
      message(7, { ...event(), scoops: [] }),
      message(8, event()),
    ])
    expect(ports.purchases.size).toBe(2)
    const dead = deadLetters.flatMap((batch) => batch.messages)
    expect(deadLetters.every((batch) => batch.topic === 'purchases.dead-letter')).toBe(true)
    expect(dead.map((m) => m.headers?.['dead-letter.origin.offset'])).toEqual(['6', '7'])
    expect(dead[0]?.headers).toMatchObject({
      'dead-letter.reason': 'value is not JSON',
      'dead-letter.origin.topic': 'purchases',
      'dead-letter.origin.partition': '0',
    })
    expect(dead[1]?.headers?.['dead-letter.reason']).toMatch(/^schema: scoops:/)
    expect(String(dead[0]?.value)).toBe('{not json')
    expect(commits).toEqual([{ partition: 0, offset: '9' }])
  })

  test('waits out a store outage without committing or dead-lettering', async () => {
    const { deliver, commits, deadLetters, ports } = harness()
    ports.outage.store = true
    let calls = 0
    const save = ports.store.savePurchases
    ports.store.savePurchases = async (purchases) => {
      calls++
      if (calls === 4) ports.outage.store = false
      return save(purchases)
    }
    await deliver([message(0, event())])
    expect(calls).toBe(4)
    expect(deadLetters).toEqual([])
    expect(ports.purchases.size).toBe(1)
    expect(commits).toEqual([{ partition: 0, offset: '1' }])
  })

  test('stopping during an outage commits nothing, so the batch is read again', async () => {
    const { deliver, commits, ports } = harness()
    const stop = new AbortController()
    ports.outage.store = true
    const save = ports.store.savePurchases
    ports.store.savePurchases = async (purchases) => {
      stop.abort()
      return save(purchases)
    }
    await deliver([message(0, event())], 0, stop.signal)
    expect(commits).toEqual([])
  })

  test('an abort cuts a back-off wait short and starts no further chunk', async () => {
    // A half-minute first wait: the test only ends in time if the abort ends the wait.
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const slow = { ...quick, retry: { ...quick.retry, initialDelayMs: 60_000 } }
    const { deliver, commits, ports } = harness({ subscriber: slow, maxDocuments: 1 })
    const stop = new AbortController()
    let calls = 0
    ports.store.savePurchases = async () => {
      calls++
      setImmediate(() => stop.abort())
      throw new UnavailableError('store', 'down')
    }
    await deliver([message(0, event()), message(1, event())], 0, stop.signal)
    vi.restoreAllMocks()
    expect(calls).toBe(1)
    expect(commits).toEqual([])
  })

  test('an event the handler keeps failing on is isolated and dead-lettered alone', async () => {
    const { deliver, commits, deadLetters, ports } = harness()
    const bad = event()
    const save = ports.store.savePurchases
    ports.store.savePurchases = async (purchases) => {
      if (purchases.some((p) => p.purchase_id === bad.purchase_id)) throw new TypeError('boom')
      return save(purchases)
    }
    await deliver([message(0, event()), message(1, bad), message(2, event())])
    expect(ports.purchases.size).toBe(2)
    const dead = deadLetters.flatMap((batch) => batch.messages)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.headers).toMatchObject({
      'dead-letter.origin.offset': '1',
      'dead-letter.reason': 'handler: TypeError: boom',
      'dead-letter.attempts': String(storePurchases.retry.attempts),
    })
    expect(commits).toEqual([{ partition: 0, offset: '3' }])
  })

  test('documents the store rejects for good are dead-lettered', async () => {
    const { deliver, deadLetters, ports } = harness()
    ports.store.savePurchases = async () => ({
      rejected: [{ index: 1, reason: 'mapper_parsing_exception' }],
    })
    await deliver([message(0, event()), message(1, event())])
    const dead = deadLetters.flatMap((batch) => batch.messages)
    expect(dead.map((m) => m.headers?.['dead-letter.origin.offset'])).toEqual(['1'])
  })

  test('an UnavailableError never reaches the dead letters', async () => {
    const { deliver, deadLetters, ports } = harness()
    let calls = 0
    ports.store.savePurchases = async () => {
      calls++
      if (calls < 6) throw new UnavailableError('store', 'down')
      return { rejected: [] }
    }
    await deliver([message(0, event())])
    expect(calls).toBe(6)
    expect(deadLetters).toEqual([])
  })

  test("takes the attempts from the subscriber's own retry policy", async () => {
    const twice = { ...quick, retry: { ...quick.retry, attempts: 2 } }
    const { deliver, deadLetters, ports, commits } = harness({ subscriber: twice })
    let calls = 0
    ports.store.savePurchases = async () => {
      calls++
      throw new TypeError('boom')
    }
    await deliver([message(0, event())])
    expect(calls).toBe(2)
    const dead = deadLetters.flatMap((batch) => batch.messages)
    expect(dead.map((m) => m.headers?.['dead-letter.attempts'])).toEqual(['2'])
    expect(commits).toEqual([{ partition: 0, offset: '1' }])
  })

  test('reads its own topic in its own group, dead-letters to its own topic, all prefixed', async () => {
    const { deliver, consumers, deadLetters, runner } = harness({ namePrefix: 'run-7.' })
    await deliver([message(0, '{not json')])
    expect(consumers).toEqual([
      { topic: 'run-7.purchases', group: 'run-7.purchases-indexer', concurrency: 2 },
    ])
    expect([runner.topic, runner.group]).toEqual(['run-7.purchases', 'run-7.purchases-indexer'])
    expect(deadLetters.map((batch) => batch.topic)).toEqual(['run-7.purchases.dead-letter'])
    expect(deadLetters[0]?.messages[0]?.headers?.['dead-letter.origin.topic']).toBe(
      'run-7.purchases',
    )
  })

  test('without a dead-letter topic, a poison message is counted, skipped and committed', async () => {
    const { deliver, commits, deadLetters, producers, metrics, ports } = harness({
      subscriber: { ...quick, deadLetter: null },
    })
    await deliver([message(0, '{not json'), message(1, event())])
    expect(producers()).toBe(0)
    expect(deadLetters).toEqual([])
    expect(ports.purchases.size).toBe(1)
    expect(commits).toEqual([{ partition: 0, offset: '2' }])
    expect(await metrics.registry.getSingleMetricAsString('kafka_consumed_events_total')).toMatch(
      /outcome="dropped"\} 1$/m,
    )
  })

  describe('dead letters always move', () => {
    const deadLetterLimit = maxBatchBytes(topics['purchases.dead-letter'])
    const backoffs = async (metrics: ReturnType<typeof createMetrics>) =>
      (await metrics.consumerBackoffs.get()).values
        .filter((v) => v.labels.reason === 'dead-letter')
        .reduce((sum, v) => sum + v.value, 0)

    test('a failed dead-letter send retires its producer: the retry goes through a new one', async () => {
      const { deliver, commits, deadLetters, sendFailures, producerLog, metrics } = harness()
      sendFailures.push(new Error('Request Produce timed out'), new Error('connection closed'))
      await deliver([message(0, '{not json'), message(1, event())])
      expect(producerLog).toEqual([
        { sends: 1, disconnected: true },
        { sends: 1, disconnected: true },
        { sends: 1, disconnected: false },
      ])
      expect(deadLetters.flatMap((batch) => batch.messages)).toHaveLength(1)
      expect(await backoffs(metrics)).toBe(2)
      expect(commits).toEqual([{ partition: 0, offset: '2' }])
    })

    test("twenty 60 KB poison messages under one key: in sends that each fit the topic's limit, all in order", async () => {
      const { deliver, commits, deadLetters } = harness()
      const poison = Array.from({ length: 20 }, (_, i) =>
        message(i, `{"pad":"${'x'.repeat(60_000)}`),
      )
      await deliver(poison)
      expect(deadLetters.length).toBeGreaterThan(1)
      for (const send of deadLetters) {
        const bytes = send.messages.reduce((sum, m) => sum + recordBytes(m), 0)
        expect(bytes).toBeLessThan(deadLetterLimit)
      }
      const dead = deadLetters.flatMap((batch) => batch.messages)
      expect(dead.map((m) => m.headers?.['dead-letter.origin.offset'])).toEqual(
        poison.map((m) => String(m.offset)),
      )
      expect(dead.every((m) => m.value.length === poison[0]?.value?.length)).toBe(true)
      expect(commits.at(-1)).toEqual({ partition: 0, offset: '20' })
    })

    test('a letter too large alone keeps its headers; its value is cut and marked with its size', async () => {
      const { deliver, commits, deadLetters } = harness()
      const huge = message(3, 'y'.repeat(deadLetterLimit + 10))
      await deliver([huge])
      const [letter, ...others] = deadLetters.flatMap((batch) => batch.messages)
      expect(others).toEqual([])
      expect(letter?.headers).toMatchObject({
        'dead-letter.reason': 'value is not JSON',
        'dead-letter.origin.topic': 'purchases',
        'dead-letter.origin.partition': '0',
        'dead-letter.origin.offset': '3',
        'dead-letter.origin.timestamp': '1640865600000',
        'dead-letter.attempts': '1',
        'dead-letter.value-truncated': 'true',
        'dead-letter.value-bytes': String(deadLetterLimit + 10),
      })
      expect(letter && recordBytes(letter)).toBeLessThan(deadLetterLimit)
      expect(String(letter?.value)).toMatch(/^y{1000,}$/)
      expect(commits).toEqual([{ partition: 0, offset: '4' }])
    })

    test('a refusal no retry cures is logged as such at every attempt, counted, and the partition waits', async () => {
      const { logger, lines } = recordingLogger()
      const { deliver, commits, sendFailures, commitsWhenSent, metrics } = harness({ logger })
      const refused = new SendRefusedError('authorization', new Error('Topic authorization failed'))
      sendFailures.push(refused, refused, refused)
      await deliver([message(0, '{not json')])
      expect(commitsWhenSent).toEqual([0, 0, 0, 0])
      const refusals = lines.filter((line) => line.refusal === 'authorization')
      expect(refusals).toHaveLength(3)
      expect(refusals.every((line) => typeof line.delayMs === 'number')).toBe(true)
      expect(refusals.map((line) => [line.level, line.partition, line.attempt])).toEqual([
        [50, 0, 1],
        [50, 0, 2],
        [50, 0, 3],
      ])
      expect(String(refusals[0]?.msg)).toMatch(/refused \(authorization\).*partition waits/)
      expect(await backoffs(metrics)).toBe(3)
      expect(commits).toEqual([{ partition: 0, offset: '1' }])
    })
  })
})

test('chunkMessages cuts by count and by bytes, never leaving a chunk empty', () => {
  const messages = [10, 10, 10, 50, 10].map((size, i) => message(i, 'x'.repeat(size)))
  expect(chunkMessages(messages, 2, 1000).map((c) => c.length)).toEqual([2, 2, 1])
  expect(chunkMessages(messages, 10, 30).map((c) => c.length)).toEqual([3, 1, 1])
})

test('replaces a client that gives up, after a back-off, until it keeps giving up: then it is down', async () => {
  const started: { crash(error: Error): void }[] = []
  const client: KafkaClient = {
    consumer: async () => {
      const { promise: crashed, resolve: crash } = Promise.withResolvers<Error>()
      started.push({ crash })
      return { start: async () => {}, pause() {}, resume() {}, crashed, stop: async () => {} }
    },
    producer: async () => ({ send: async () => {}, disconnect: async () => {} }),
    admin: () => Promise.reject(new Error('the runner needs no admin')),
  }
  const metrics = createMetrics()
  const runner = createSubscriberRunner(
    quick,
    client,
    memoryPorts(),
    { namePrefix: '', concurrency: 1, maxDocuments: 10, maxBytes: 1024, maxRestarts: 2 },
    metrics,
    silentLogger,
  )
  await runner.start(new AbortController().signal)
  const restarts = async () =>
    (await metrics.consumerRestarts.get()).values.reduce((sum, v) => sum + v.value, 0)
  for (const count of [1, 2]) {
    started.at(-1)?.crash(new Error('group authorization failed'))
    await vi.waitFor(() => expect(started).toHaveLength(count + 1))
    expect(runner.down).toBeUndefined()
  }
  started.at(-1)?.crash(new Error('group authorization failed'))
  await vi.waitFor(() => expect(runner.down?.message).toBe('group authorization failed'))
  expect(started).toHaveLength(3)
  expect(await restarts()).toBe(3)
})
