import { describe, expect, test } from 'vitest'
import { UnavailableError } from '../../handlers/define.ts'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import type {
  Batch,
  BatchContext,
  Consumer,
  IncomingMessage,
  Producer,
  TopicMessages,
} from '../../runtime/kafka/broker.ts'
import { chunkMessages, createSubscriberRunner } from '../../runtime/kafka/subscriber-runner.ts'
import { createMetrics } from '../../runtime/metrics.ts'
import { memoryPorts } from '../support/memory-ports.ts'
import { purchaseBody } from '../support/purchases.ts'
import { silentLogger } from '../support/runtime.ts'

function message(offset: number, value: unknown): IncomingMessage {
  return {
    key: Buffer.from('shop'),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    offset: String(offset),
    timestamp: '1640865600000',
    headers: {},
  }
}

const event = () => ({
  ...purchaseBody(),
  timestamp: '2021-12-30T12:00:00.000Z',
  received_at: '2021-12-30T12:00:01.000Z',
})

function harness(options: { maxDocuments?: number; running?: () => boolean } = {}) {
  const commits: { partition: number; offset: string }[] = []
  const deadLetters: TopicMessages[] = []
  let onBatch: ((batch: Batch, context: BatchContext) => Promise<void>) | undefined
  const consumer: Consumer = {
    run: async (_topic, handler) => {
      onBatch = handler
    },
    pause: () => {},
    resume: () => {},
    stop: async () => {},
  }
  const producer: Producer = {
    send: async (batches) => {
      deadLetters.push(...batches)
    },
    disconnect: async () => {},
  }
  const ports = memoryPorts()
  const runner = createSubscriberRunner(
    storePurchases,
    consumer,
    producer,
    ports,
    {
      topic: 'purchases',
      deadLetterTopic: 'purchases.dead-letter',
      maxDocuments: options.maxDocuments ?? 100,
      maxBytes: 1024 * 1024,
      backoff: { initialMs: 1, maxMs: 5 },
    },
    createMetrics(),
    silentLogger,
  )
  const deliver = async (messages: IncomingMessage[], partition = 0) => {
    if (!onBatch) await runner.start()
    await onBatch?.(
      { topic: 'purchases', partition, messages },
      {
        heartbeat: async () => {},
        isRunning: options.running ?? (() => true),
        commit: async (offset) => {
          commits.push({ partition, offset })
        },
      },
    )
  }
  return { deliver, commits, deadLetters, ports }
}

describe('subscriber runner', () => {
  test('stores a batch, then commits the offset after it', async () => {
    const { deliver, commits, ports } = harness()
    await deliver([message(10, event()), message(11, event()), message(12, event())])
    expect(ports.documents.size).toBe(3)
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
    expect(ports.documents.size).toBe(2)
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
    ports.store.savePurchases = async (documents) => {
      calls++
      if (calls === 4) ports.outage.store = false
      return save(documents)
    }
    await deliver([message(0, event())])
    expect(calls).toBe(4)
    expect(deadLetters).toEqual([])
    expect(ports.documents.size).toBe(1)
    expect(commits).toEqual([{ partition: 0, offset: '1' }])
  })

  test('stopping during an outage commits nothing, so the batch is read again', async () => {
    let running = true
    const { deliver, commits, ports } = harness({ running: () => running })
    ports.outage.store = true
    const save = ports.store.savePurchases
    ports.store.savePurchases = async (documents) => {
      running = false
      return save(documents)
    }
    await deliver([message(0, event())])
    expect(commits).toEqual([])
  })

  test('an event the handler keeps failing on is isolated and dead-lettered alone', async () => {
    const { deliver, commits, deadLetters, ports } = harness()
    const bad = event()
    const save = ports.store.savePurchases
    ports.store.savePurchases = async (documents) => {
      if (documents.some((d) => d.purchase_id === bad.purchase_id)) throw new TypeError('boom')
      return save(documents)
    }
    await deliver([message(0, event()), message(1, bad), message(2, event())])
    expect(ports.documents.size).toBe(2)
    const dead = deadLetters.flatMap((batch) => batch.messages)
    expect(dead).toHaveLength(1)
    expect(dead[0]?.headers).toMatchObject({
      'dead-letter.origin.offset': '1',
      'dead-letter.reason': 'handler: TypeError: boom',
      'dead-letter.attempts': String(storePurchases.maxAttempts),
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
})

test('chunkMessages cuts by count and by bytes, never leaving a chunk empty', () => {
  const messages = [10, 10, 10, 50, 10].map((size, i) => message(i, 'x'.repeat(size)))
  expect(chunkMessages(messages, 2, 1000).map((c) => c.length)).toEqual([2, 2, 1])
  expect(chunkMessages(messages, 10, 30).map((c) => c.length)).toEqual([3, 1, 1])
})
