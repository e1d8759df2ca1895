import { describe, expect, test, vi } from 'vitest'
import { UnavailableError } from '../../handlers/errors.ts'
import type { Producer, TopicMessages } from '../../runtime/kafka/client.ts'
import { createPublisher, type PublisherOptions } from '../../runtime/kafka/publisher.ts'
import { createMetrics } from '../../runtime/metrics.ts'
import { silentLogger } from '../support/runtime.ts'

function fakeProducer(behaviour: (batches: TopicMessages[]) => Promise<void> = async () => {}) {
  const sends: TopicMessages[][] = []
  const producer: Producer = {
    async send(batches) {
      sends.push(batches)
      await behaviour(batches)
    },
    disconnect: async () => {},
  }
  return { producer, sends }
}

const options: PublisherOptions = {
  namePrefix: 'run-1.',
  lingerMs: 5,
  maxBatch: 100,
  timeoutMs: 1_000,
  retryAfterSeconds: 2,
  maxPending: 1_000,
}

const event = (i: number) => ({ key: `shop-${i % 3}`, value: { n: i } })

/** The publisher under test, on `connect`, with some options changed. */
const publisherOn = (connect: () => Promise<Producer>, changes: Partial<PublisherOptions> = {}) =>
  createPublisher(connect, { ...options, ...changes }, createMetrics(), silentLogger)

describe('publisher', () => {
  test('gathers concurrent events into one produce request', async () => {
    const { producer, sends } = fakeProducer()
    const publisher = publisherOn(async () => producer)
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => publisher.publish('purchases', event(i))),
    )
    expect(sends).toHaveLength(1)
    expect(sends[0]?.[0]?.topic).toBe('run-1.purchases')
    expect(sends[0]?.[0]?.messages).toHaveLength(50)
    expect(sends[0]?.[0]?.messages[4]).toEqual({ key: 'shop-1', value: '{"n":4}' })
  })

  test('cuts batches at maxBatch and keeps the order of events', async () => {
    const { producer, sends } = fakeProducer()
    const publisher = publisherOn(async () => producer, { maxBatch: 10 })
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => publisher.publish('purchases', event(i))),
    )
    expect(sends.map((batches) => batches[0]?.messages.length)).toEqual([10, 10, 5])
    const values = sends.flatMap((batches) =>
      batches[0]?.messages.map((m) => JSON.parse(String(m.value)).n),
    )
    expect(values).toEqual(Array.from({ length: 25 }, (_, i) => i))
  })

  test('a failed produce rejects its callers, then refuses at once for Retry-After', async () => {
    const { producer, sends } = fakeProducer(async () => {
      throw new Error('broker down')
    })
    const publisher = publisherOn(async () => producer)
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    const started = Date.now()
    await expect(publisher.publish('purchases', event(2))).rejects.toBeInstanceOf(UnavailableError)
    expect(Date.now() - started).toBeLessThan(50)
    expect(sends).toHaveLength(1)
  })

  test('a broker that never answers costs a caller at most timeoutMs', async () => {
    const { producer } = fakeProducer(() => new Promise(() => {}))
    const publisher = publisherOn(async () => producer, { timeoutMs: 100 })
    const started = Date.now()
    await expect(publisher.publish('purchases', event(1))).rejects.toThrow(/within 100 ms/)
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  test('a connection that fails is retried by the next caller', async () => {
    let attempts = 0
    const { producer, sends } = fakeProducer()
    const connect = async () => {
      attempts++
      if (attempts === 1) throw new Error('no broker yet')
      return producer
    }
    const publisher = publisherOn(connect, { retryAfterSeconds: 0 })
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    await publisher.publish('purchases', event(2))
    expect(attempts).toBe(2)
    expect(sends).toHaveLength(1)
  })

  test('after a failed send, the next batch goes through a new producer, and the old one is closed', async () => {
    const producers: { disconnected: boolean; sends: number }[] = []
    const connect = async (): Promise<Producer> => {
      const state = { disconnected: false, sends: 0 }
      producers.push(state)
      return {
        async send() {
          state.sends++
          if (producers.length === 1) throw new Error('Request Produce timed out')
        },
        disconnect: async () => {
          state.disconnected = true
        },
      }
    }
    const publisher = publisherOn(connect, { retryAfterSeconds: 0 })
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    await publisher.publish('purchases', event(2))
    expect(producers.map((p) => p.sends)).toEqual([1, 1])
    await vi.waitFor(() => expect(producers[0]?.disconnected).toBe(true))
    expect(producers[1]?.disconnected).toBe(false)
  })
  test('an event whose caller got 503 before it was sent is never sent', async () => {
    let sendCalls = 0
    // The first two sends never answer: each is cut at the deadline.
    const { producer, sends } = fakeProducer(() =>
      ++sendCalls <= 2 ? new Promise(() => {}) : Promise.resolve(),
    )
    const publisher = publisherOn(async () => producer, {
      timeoutMs: 100,
      retryAfterSeconds: 0,
      maxBatch: 1,
    })
    // 1 is sent, 2 waits for it and goes next, 3 waits behind both past its deadline.
    await Promise.all(
      [1, 2, 3].map((i) =>
        expect(publisher.publish('purchases', event(i))).rejects.toBeInstanceOf(UnavailableError),
      ),
    )
    await vi.waitFor(() => publisher.publish('purchases', event(4)))
    const sent = sends.flatMap((batches) => batches[0]?.messages.map((m) => String(m.value)))
    expect(sent).toEqual(['{"n":1}', '{"n":2}', '{"n":4}'])
  })

  test('a send that outlasts the deadline retires its producer; the next batch uses a new one', async () => {
    const producers: Producer[] = []
    const connect = async () => {
      const { producer } = fakeProducer(
        producers.length === 0 ? () => new Promise(() => {}) : async () => {},
      )
      producers.push(producer)
      return producer
    }
    const publisher = publisherOn(connect, { timeoutMs: 100, retryAfterSeconds: 0 })
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    await vi.waitFor(() => publisher.publish('purchases', event(2)))
    expect(producers).toHaveLength(2)
  })

  test('a connect slower than the deadline fails its batch unsent, and the next batch waits for it', async () => {
    let connects = 0
    let connected = (_: Producer) => {}
    const { producer, sends } = fakeProducer()
    const connect = () => {
      connects++
      return new Promise<Producer>((resolve) => (connected = resolve))
    }
    const publisher = publisherOn(connect, { timeoutMs: 100, retryAfterSeconds: 0 })
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    const second = publisher.publish('purchases', event(2))
    connected(producer)
    await second
    expect(connects).toBe(1)
    expect(sends.flatMap((batches) => batches[0]?.messages.map((m) => String(m.value)))).toEqual([
      '{"n":2}',
    ])
  })

  test('tells readiness why Kafka is refused until a send succeeds', async () => {
    let fail = true
    const { producer } = fakeProducer(async () => {
      if (fail) throw new Error('broker down')
    })
    const publisher = publisherOn(async () => producer, { retryAfterSeconds: 0 })
    expect(publisher.refusal()).toBeUndefined()
    await expect(publisher.publish('purchases', event(1))).rejects.toBeInstanceOf(UnavailableError)
    expect(publisher.refusal()).toBe('produce failed: broker down')
    fail = false
    await publisher.publish('purchases', event(2))
    expect(publisher.refusal()).toBeUndefined()
  })
})
