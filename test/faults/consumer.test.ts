/**
 * The consumer's and the API processes' faults under load, on the fault suite's stack: the store
 * stopped, the consumer killed mid-write, the API terminated and killed, a rebalance, and poison
 * messages. Each scenario prints its audit row and must read 0 lost, 0 duplicated.
 */
import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, inject, test } from 'vitest'
import storePurchases from '../../handlers/subscribers/store-purchases.ts'
import type { IncomingMessage } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { kafkaName } from '../../runtime/kafka/topics.ts'
import { createLogger } from '../../runtime/logger.ts'
import { cacheDir } from '../../scripts/local-stack/fetch.ts'
import { adminConfig, readTopic } from '../support/app.ts'
import { faultPorts } from './control.ts'
import { control, underLoad } from './suite.ts'

const ports = faultPorts(Number(process.env.ICECREAM_TEST_PORT_BASE || 29_000))
const logs = join(cacheDir(), `fault-stack-${ports.base}`, 'logs')
/** Waits on what Kafka, Elasticsearch and a restarted process do. */
const patiently = { timeout: 120_000, interval: 500 }

/**
 * Slower than the suite's default: on a shared two-core machine the API could not answer
 * 300/s in time, and a fault's effects must be told apart from an overloaded host's.
 */
const steadyLoad = (seed: number) => ({ seed, ratePerSecond: 100, maxDurationMs: 900_000 })

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text()
const consumerMetrics = () => metricsOf(inject('faults').consumerUrl)

/** The sum of a counter's or gauge's series whose labels match `labels` (e.g. `reason="x"`). */
function total(metrics: string, name: string, labels = ''): number {
  let sum = 0
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(labels)) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

const name = (topic: string) => kafkaName(adminConfig().KAFKA_NAME_PREFIX, topic)

/** The indexer group's committed offsets and lag per partition, as the stack's admin reads them. */
async function groupLag() {
  const admin = await createKafkaClient(adminConfig(), createLogger('warn', 'faults')).admin()
  try {
    return await admin.lag(name(storePurchases.group), name(storePurchases.topic))
  } finally {
    await admin.disconnect()
  }
}

describe('consumer and API faults', () => {
  test('f. the consumer SIGKILLed in the middle of a bulk write, and restarted', async () => {
    await underLoad('f. consumer killed mid-bulk, restarted', steadyLoad(106), async (load) => {
      // A frozen store holds the consumer's bulk write open: the kill lands inside it.
      await control().elasticsearch('freeze')
      await load.answered(2 * load.options.ratePerSecond)
      expect((await control().app('consumer', 'kill')).code).not.toBe(0)
      // The frozen write lands after the kill, uncommitted: the new consumer writes it again.
      await control().elasticsearch('thaw')
      await control().app('consumer', 'start')
    })
  })

  for (const signal of ['stop', 'kill'] as const) {
    const how = signal === 'stop' ? 'SIGTERMed' : 'SIGKILLed'
    test(`g. the API ${how} under load, then started again: what got a 202 is stored`, async () => {
      let code: unknown
      const row = await underLoad(
        `g. API ${how}, restarted`,
        steadyLoad(signal === 'stop' ? 107 : 117),
        async () => {
          code = (await control().app('api', signal)).code
          await control().app('api', 'start')
        },
      )
      // SIGTERM: it stops accepting, answers what it took, flushes the producer, exits 0.
      if (signal === 'stop') {
        expect(code).toBe(0)
        expect(row.refused).not.toHaveProperty('timeout')
      } else expect(code).not.toBe(0)
    })
  }

  test('h. a rebalance under load: a second consumer joins, then leaves', async () => {
    await underLoad('h. a second consumer joins, then leaves', steadyLoad(108), async (load) => {
      const second = await control().app('consumer-2', 'start', {
        role: 'consumer',
        port: ports.extraApps,
        output: join(logs, 'consumer-2.log'),
      })
      // It got partitions of its own: it stores events.
      await expect
        .poll(
          async () =>
            total(
              await metricsOf(String(second.url)),
              'kafka_consumed_events_total',
              'outcome="stored"',
            ),
          patiently,
        )
        .toBeGreaterThan(0)
      await load.answered(3 * load.options.ratePerSecond)
      expect((await control().app('consumer-2', 'stop')).code).toBe(0)
    })
  })

  test('i. poison messages straight to the topic: each dead-lettered with reason and origin; the partitions keep moving', async () => {
    // All under one key, in the partition of some of the load's shops too.
    const key = randomUUID()
    const event = {
      shop_id: randomUUID(),
      purchase_id: randomUUID(),
      timestamp: '2021-12-30T12:00:00Z',
      received_at: '2021-12-30T12:00:01Z',
      scoops: [{ type: 'vanilla', quantity: 1, price: 250 }],
    }
    const poison = [
      { reason: /^value is not JSON$/, value: '{"purchase_id": nope' },
      { reason: /^schema: scoops/, value: JSON.stringify({ ...event, scoops: [] }) },
      // Valid to the schema; Elasticsearch's date parser refuses an offset beyond 18 hours.
      {
        reason: /parsing/,
        value: JSON.stringify({ ...event, timestamp: '2021-12-30T12:00:00+23:59' }),
      },
      // Twenty 60 KB letters under one key: together past the dead-letter topic's limit.
      ...Array.from({ length: 20 }, (_, i) => ({
        reason: /^value is not JSON$/,
        value: `{"poison":${i},"pad":"${'x'.repeat(60_000)}`,
      })),
    ]
    const letters: IncomingMessage[] = []
    const reader = await readTopic(name('purchases.dead-letter'), (message) => {
      if (message.key?.toString() === key) letters.push(message)
    })
    try {
      const row = await underLoad(
        'i. poison messages written to the topic',
        steadyLoad(109),
        async (load) => {
          const producer = await createKafkaClient(
            adminConfig(),
            createLogger('warn', 'faults'),
          ).producer()
          try {
            // Sends of four stay under the purchases topic's own limit.
            for (let i = 0; i < poison.length; i += 4) {
              const messages = poison.slice(i, i + 4).map(({ value }) => ({ key, value }))
              await producer.send([{ topic: name(storePurchases.topic), messages }])
            }
          } finally {
            await producer.disconnect()
          }
          await load.answered(3 * load.options.ratePerSecond)
        },
      )
      expect(row.deadLettered).toBe(poison.length)
      await expect.poll(() => letters.length, patiently).toBe(poison.length)
      // A chunk's letters go out parse failures first, then what the store refused.
      const values = letters.map((m) => m.value?.toString() ?? '')
      expect(values.toSorted()).toEqual(poison.map((p) => p.value).toSorted())
      for (const letter of letters) {
        const sent = poison.find((p) => p.value === letter.value?.toString())
        expect(letter.headers['dead-letter.reason']).toMatch(sent?.reason ?? /never/)
        expect(letter.headers).toMatchObject({
          'dead-letter.origin.topic': name(storePurchases.topic),
          'dead-letter.origin.partition': expect.stringMatching(/^\d+$/),
          'dead-letter.origin.offset': expect.stringMatching(/^\d+$/),
        })
      }
    } finally {
      await reader.stop()
    }
  })

  test('e. Elasticsearch stopped ~30 s: back-off with jitter, nothing committed, lag grows; then all stored, no dead letters', async () => {
    const row = await underLoad('e. Elasticsearch stopped ~30 s', steadyLoad(105), async (load) => {
      const waits = (metrics: string) =>
        total(metrics, 'kafka_consumer_backoffs_total', 'reason="unavailable"')
      const before = waits(await consumerMetrics())
      await control().elasticsearch('stop')
      // Every partition in hand is waiting (not only the first to fail) before the snapshot.
      await expect
        .poll(async () => waits(await consumerMetrics()), patiently)
        .toBeGreaterThan(before + 3)
      const during = await groupLag()
      await load.answered(30 * load.options.ratePerSecond)
      const after = await groupLag()
      expect(after.map((p) => p.committed)).toEqual(during.map((p) => p.committed))
      const lag = (partitions: typeof during) => partitions.reduce((sum, p) => sum + p.lag, 0)
      expect(lag(after)).toBeGreaterThan(lag(during))
      await control().elasticsearch('start')
      await expect
        .poll(async () => (await fetch(`${inject('faults').consumerUrl}/readyz`)).status, {
          timeout: 600_000,
          interval: 1_000,
        })
        .toBe(200)
    })
    expect(row.deadLettered).toBe(0)
    // Full jitter: the waits logged before each retry are spread, not one fixed step.
    const delays = (await readFile(join(logs, 'consumer.log'), 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"msg":"dependency unavailable'))
      .map((line) => (JSON.parse(line) as { delayMs: number }).delayMs)
    expect(delays.length).toBeGreaterThan(3)
    expect(new Set(delays).size).toBeGreaterThan(delays.length / 2)
  }, 1_200_000)
})
