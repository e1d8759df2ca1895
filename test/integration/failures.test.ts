/**
 * What the queue is for: nothing acknowledged is lost when a part fails. Poison messages,
 * an unreachable broker, an Elasticsearch outage, a consumer restart and SIGTERM, for real.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { createElasticsearchClient } from '../../runtime/elasticsearch/store.ts'
import type { IncomingMessage } from '../../runtime/kafka/client.ts'
import { createKafkaClient } from '../../runtime/kafka/index.ts'
import { createLogger } from '../../runtime/logger.ts'
import {
  adminConfig,
  patience,
  postAccepted,
  postPurchase,
  readTopic,
  startTestApp,
  startTestPipeline,
  startTestProcess,
  storedPurchaseIds,
  testConfig,
  testTopic,
} from '../support/app.ts'
import { purchaseBody } from '../support/purchases.ts'
import { startTcpProxy } from '../support/tcp-proxy.ts'

const running: { stop(): Promise<void> }[] = []
async function track<T extends { stop(): Promise<void> }>(started: Promise<T>): Promise<T> {
  const app = await started
  running.push(app)
  return app
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()))
})

/** The sum of `kafka_consumer_lag` over the partitions, as the consumer reports it. */
function totalLag(metrics: string): number {
  return [...metrics.matchAll(/^kafka_consumer_lag\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  )
}

const expectExactly = async (shopIds: string[], purchaseIds: string[], timeoutMs = 45_000) => {
  const stored = await vi.waitFor(
    async () => {
      const ids = await storedPurchaseIds(shopIds)
      expect(ids.length).toBeGreaterThanOrEqual(purchaseIds.length)
      return ids
    },
    { ...patience, timeout: timeoutMs },
  )
  expect(stored.sort()).toEqual([...purchaseIds].sort())
}

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text()

test('a poison message goes to the dead-letter topic and its partition moves on', async () => {
  const app = await track(startTestPipeline())
  const kafka = createKafkaClient(testConfig(), createLogger('warn', 'test'))
  const shopId = randomUUID()

  const deadLetters: IncomingMessage[] = []
  const reader = await readTopic(testTopic('purchases.dead-letter'), (message) => {
    deadLetters.push(message)
  })
  running.push(reader)

  // Same key as the good purchase that follows: same partition, behind the poison.
  const producer = await kafka.producer()
  await producer.send([
    { topic: testTopic('purchases'), messages: [{ key: shopId, value: '{"this is": not json' }] },
    {
      topic: testTopic('purchases'),
      messages: [
        {
          key: shopId,
          value: JSON.stringify({ ...purchaseBody({ shop_id: shopId }), scoops: [] }),
        },
      ],
    },
  ])
  await producer.disconnect()
  const good = purchaseBody({ shop_id: shopId })
  await postAccepted(app.url, [good])

  await expectExactly([shopId], [good.purchase_id])
  const ours = await vi.waitFor(() => {
    const found = deadLetters.filter((m) => m.key?.toString() === shopId)
    expect(found).toHaveLength(2)
    return found
  }, patience)
  expect(ours.map((m) => m.headers['dead-letter.reason'])).toEqual([
    'value is not JSON',
    expect.stringMatching(/^schema: .*scoops/),
  ])
  for (const message of ours) {
    expect(message.headers).toMatchObject({
      'dead-letter.origin.topic': testTopic('purchases'),
      'dead-letter.origin.partition': expect.stringMatching(/^\d+$/),
      'dead-letter.origin.offset': expect.stringMatching(/^\d+$/),
    })
  }
  expect(ours[0]?.value?.toString()).toBe('{"this is": not json')
})

test("twenty 60 KB poison messages under one key: all dead-lettered with reason and origin, though together they exceed the dead-letter topic's limit", async () => {
  const app = await track(startTestPipeline())
  const shopId = randomUUID()
  const deadLetters: IncomingMessage[] = []
  const reader = await readTopic(testTopic('purchases.dead-letter'), (message) => {
    if (message.key?.toString() === shopId) deadLetters.push(message)
  })
  running.push(reader)

  // As the stack's admin, straight to the topic; sends of four stay under its own limit.
  const poison = Array.from({ length: 20 }, (_, i) => `{"poison":${i},"pad":"${'x'.repeat(60_000)}`)
  const producer = await createKafkaClient(adminConfig(), createLogger('warn', 'test')).producer()
  try {
    for (let i = 0; i < poison.length; i += 4) {
      await producer.send([
        {
          topic: testTopic('purchases'),
          messages: poison.slice(i, i + 4).map((value) => ({ key: shopId, value })),
        },
      ])
    }
  } finally {
    await producer.disconnect()
  }
  // Behind the poison in its partition: stored once the partition has moved on.
  const good = purchaseBody({ shop_id: shopId })
  await postAccepted(app.url, [good])

  await expectExactly([shopId], [good.purchase_id])
  await expect.poll(() => deadLetters.length, patience).toBe(20)
  expect(deadLetters.map((m) => m.value?.toString())).toEqual(poison)
  const offsets = deadLetters.map((m) => Number(m.headers['dead-letter.origin.offset']))
  expect(offsets).toEqual([...offsets].sort((a, b) => a - b))
  for (const letter of deadLetters) {
    expect(letter.headers).toMatchObject({
      'dead-letter.reason': 'value is not JSON',
      'dead-letter.origin.topic': testTopic('purchases'),
      'dead-letter.origin.partition': deadLetters[0]?.headers['dead-letter.origin.partition'],
    })
  }
  expect(await metricsOf(app.consumerUrl)).not.toMatch(
    /kafka_consumer_backoffs_total\{[^}]*reason="dead-letter"[^}]*\} [1-9]/,
  )
})

test('Kafka unreachable: a fast 503 with Retry-After, and not ready', async () => {
  const app = await track(
    startTestApp({ ROLE: 'api', KAFKA_BROKERS: '127.0.0.1:1', PUBLISH_TIMEOUT_MS: '3000' }),
  )
  const started = Date.now()
  const first = await postPurchase(app.url, purchaseBody())
  const firstMs = Date.now() - started
  expect(first.status).toBe(503)
  expect(first.headers.get('retry-after')).toBe('2')
  expect(firstMs).toBeLessThan(4_000)

  const again = Date.now()
  expect((await postPurchase(app.url, purchaseBody())).status).toBe(503)
  expect(Date.now() - again).toBeLessThan(200)

  const ready = await fetch(`${app.url}/readyz`)
  expect(ready.status).toBe(503)
  expect(((await ready.json()) as { checks: { kafka: string } }).checks.kafka).not.toBe('ok')
})

test('Elasticsearch down: the consumer backs off, then stores everything once it is back', async () => {
  const config = testConfig()
  const proxy = await startTcpProxy(Number(new URL(config.ELASTICSEARCH_URL).port))
  running.push({ stop: () => proxy.close() })
  const api = await track(startTestApp({ ROLE: 'api' }))
  const consumer = await track(
    startTestApp({ ROLE: 'consumer', ELASTICSEARCH_URL: `https://127.0.0.1:${proxy.port}` }),
  )
  await expect.poll(async () => (await fetch(`${consumer.url}/readyz`)).ok, patience).toBe(true)

  proxy.cut()
  const shopId = randomUUID()
  const bodies = Array.from({ length: 20 }, () => purchaseBody({ shop_id: shopId }))
  await postAccepted(api.url, bodies)
  // Kafka buffers while the store is away: accepted, not yet stored, the consumer backing off.
  const duringOutage = await vi.waitFor(async () => {
    const text = await metricsOf(consumer.url)
    expect(text).toMatch(/kafka_consumer_backoffs_total\{[^}]*reason="unavailable"[^}]*\} [1-9]/)
    expect(totalLag(text)).toBeGreaterThanOrEqual(20)
    return text
  }, patience)
  expect(await storedPurchaseIds([shopId])).toEqual([])
  expect(totalLag(duringOutage)).toBeGreaterThanOrEqual(20)

  proxy.restore()
  await expectExactly(
    [shopId],
    bodies.map((b) => b.purchase_id as string),
    60_000,
  )
  await expect.poll(async () => totalLag(await metricsOf(consumer.url)), patience).toBe(0)
})

/** The consumer's count of events it sent to the dead letters. */
const deadLettered = (metrics: string) =>
  Number(
    /kafka_consumed_events_total\{[^}]*outcome="dead-lettered"[^}]*\} (\d+)/.exec(metrics)?.[1] ??
      0,
  )

/** Posts 15 purchases and waits until the consumer backs off from the store with them waiting. */
async function postDuringOutage(apiUrl: string, consumerUrl: string) {
  const shopId = randomUUID()
  const bodies = Array.from({ length: 15 }, () => purchaseBody({ shop_id: shopId }))
  await postAccepted(apiUrl, bodies)
  await vi.waitFor(async () => {
    const text = await metricsOf(consumerUrl)
    expect(text).toMatch(/kafka_consumer_backoffs_total\{[^}]*reason="unavailable"[^}]*\} [1-9]/)
    expect(totalLag(text)).toBeGreaterThanOrEqual(15)
  }, patience)
  return { shopId, purchaseIds: bodies.map((b) => b.purchase_id as string) }
}

test('Elasticsearch frozen: the API takes purchases and stays ready, its reads fail fast with 503', async () => {
  const proxy = await startTcpProxy(Number(new URL(testConfig().ELASTICSEARCH_URL).port))
  running.push({ stop: () => proxy.close() })
  const api = await track(
    startTestApp({ ROLE: 'api', ELASTICSEARCH_URL: `https://127.0.0.1:${proxy.port}` }),
  )
  proxy.freeze()
  const body = purchaseBody()
  expect((await postPurchase(api.url, body)).status).toBe(202)

  // Bounded well below a client's patience: the API's store timeout is 3 s, with no retry.
  const read = await fetch(`${api.url}/purchases/${body.shop_id}?date=2021-12-30`, {
    signal: AbortSignal.timeout(10_000),
  })
  expect(read.status).toBe(503)
  expect(read.headers.get('retry-after')).toBe('2')
  expect(read.headers.get('content-type')).toContain('application/problem+json')

  const ready = await fetch(`${api.url}/readyz`)
  expect(ready.status).toBe(200)
  const { checks } = (await ready.json()) as { checks: Record<string, string> }
  expect(checks.kafka).toBe('ok')
  expect(checks.elasticsearch).not.toBe('ok')
})

test('a write block on the index is an outage: no dead letters, no commits, all stored once lifted', async () => {
  const admin = createElasticsearchClient(adminConfig())
  const index = adminConfig().ELASTICSEARCH_INDEX
  const block = (on: boolean) =>
    admin.indices.putSettings({ index, settings: { 'index.blocks.write': on } })
  running.push({
    stop: async () => {
      await block(false)
      await admin.close()
    },
  })
  const { url: apiUrl } = await track(startTestApp({ ROLE: 'api' }))
  const consumer = await track(startTestApp({ ROLE: 'consumer' }))
  await expect.poll(async () => (await fetch(`${consumer.url}/readyz`)).ok, patience).toBe(true)
  const before = deadLettered(await metricsOf(consumer.url))

  await block(true)
  const { shopId, purchaseIds } = await postDuringOutage(apiUrl, consumer.url)
  expect(await storedPurchaseIds([shopId])).toEqual([])
  await block(false)

  await expectExactly([shopId], purchaseIds, 60_000)
  await expect.poll(async () => totalLag(await metricsOf(consumer.url)), patience).toBe(0)
  expect(deadLettered(await metricsOf(consumer.url))).toBe(before)
})

test('wrong store credentials are an outage, not poison: not ready, nothing dead-lettered', async () => {
  const { url: apiUrl } = await track(startTestApp({ ROLE: 'api' }))
  let outage = { shopId: '', purchaseIds: [] as string[] }
  const wrong = await startTestApp({ ROLE: 'consumer', ELASTICSEARCH_PASSWORD: 'not-the-password' })
  try {
    const ready = await fetch(`${wrong.url}/readyz`)
    expect(ready.status).toBe(503)
    const { checks } = (await ready.json()) as { checks: Record<string, string> }
    expect(checks.elasticsearch).toMatch(/401/)
    const { shopId, purchaseIds } = await postDuringOutage(apiUrl, wrong.url)
    expect(deadLettered(await metricsOf(wrong.url))).toBe(0)
    outage = { shopId, purchaseIds }
  } finally {
    await wrong.stop()
  }

  // Nothing was committed: a consumer with the right credentials stores every one.
  await track(startTestApp({ ROLE: 'consumer' }))
  await expectExactly([outage.shopId], outage.purchaseIds, 60_000)
})

test('a consumer its Kafka client gives up on is restarted, counted, then reported dead to liveness', async () => {
  // A group no ACL allows: the broker refuses it for good, so the client gives up every time.
  const consumer = await track(
    startTestApp({ ROLE: 'consumer', KAFKA_NAME_PREFIX: 'no-acls.', CONSUMER_MAX_RESTARTS: '1' }),
  )
  await expect
    .poll(
      async () =>
        /^kafka_consumer_restarts_total\{[^}]*\} ([1-9]\d*)$/m.exec(
          await metricsOf(consumer.url),
        )?.[1],
      patience,
    )
    .toBeDefined()
  await expect.poll(async () => (await fetch(`${consumer.url}/healthz`)).status, patience).toBe(503)
  const health = (await (await fetch(`${consumer.url}/healthz`)).json()) as { reason: string }
  expect(health.reason).toContain('no-acls.purchases-indexer')
})

test('paused consumers: the API keeps accepting, the lag grows, and it drains on resume', async () => {
  const api = await track(startTestApp({ ROLE: 'api' }))
  const token = 'a-test-control-token-0123456789abcdef'
  const consumer = await track(
    startTestApp({ ROLE: 'consumer', DEMO_CONTROLS: 'true', DEMO_CONTROL_TOKEN: token }),
  )
  const headers = { authorization: `Bearer ${token}` }
  const control = (action: string) =>
    fetch(`${consumer.url}/consumer/${action}`, { method: 'POST', headers })
  expect((await fetch(`${consumer.url}/consumer/pause`, { method: 'POST' })).status).toBe(401)
  await expect
    .poll(
      async () =>
        (
          (await (await fetch(`${consumer.url}/consumer`, { headers })).json()) as {
            consumers: number
          }
        ).consumers,
      patience,
    )
    .toBe(1)
  expect(await (await control('pause')).json()).toEqual({ consumers: 1, paused: true })

  const shopId = randomUUID()
  const bodies = Array.from({ length: 15 }, () => purchaseBody({ shop_id: shopId }))
  await postAccepted(api.url, bodies)
  // The lag reports the 15 waiting while nothing is stored.
  const paused = await vi.waitFor(async () => {
    const text = await metricsOf(consumer.url)
    expect(totalLag(text)).toBeGreaterThanOrEqual(15)
    return text
  }, patience)
  expect(await storedPurchaseIds([shopId])).toEqual([])
  expect(totalLag(paused)).toBeGreaterThanOrEqual(15)
  expect(paused).toMatch(/^kafka_consumer_paused\{[^}]*\} 1$/m)

  expect(await (await control('resume')).json()).toEqual({ consumers: 1, paused: false })
  await expectExactly(
    [shopId],
    bodies.map((b) => b.purchase_id as string),
  )
})

test('consumer control is off unless asked for', async () => {
  const consumer = await track(startTestApp({ ROLE: 'consumer' }))
  expect((await fetch(`${consumer.url}/consumer/pause`, { method: 'POST' })).status).toBe(404)
})

describe('consumers come and go without loss or duplicates', () => {
  test('a consumer stopped mid-stream, events buffered while none runs, another picks up', async () => {
    const api = await track(startTestApp({ ROLE: 'api' }))
    const first = await startTestApp({ ROLE: 'consumer', BULK_MAX_DOCUMENTS: '20' })
    const shopIds = Array.from({ length: 6 }, () => randomUUID())
    const bodies = Array.from({ length: 300 }, (_, i) => purchaseBody({ shop_id: shopIds[i % 6] }))

    await postAccepted(api.url, bodies.slice(0, 150))
    await expect
      .poll(async () => (await storedPurchaseIds(shopIds)).length, patience)
      .toBeGreaterThan(0)
    await first.stop()
    // No consumer at all now: the topic holds what arrives.
    await postAccepted(api.url, bodies.slice(150))
    const storedWhileDown = (await storedPurchaseIds(shopIds)).length
    expect(storedWhileDown).toBeLessThan(300)

    await track(startTestApp({ ROLE: 'consumer' }))
    await expectExactly(
      shopIds,
      bodies.map((b) => b.purchase_id as string),
      60_000,
    )
  })

  test('SIGTERM: each process finishes its work, commits, disconnects and exits 0', async () => {
    const outputs = { api: '', consumer: '' }
    const start = (role: 'api' | 'consumer') =>
      startTestProcess({ ROLE: role, LOG_LEVEL: 'info' }, (line) => {
        outputs[role] += `${line}\n`
      })
    const [api, consumer] = await Promise.all([start('api'), start('consumer')])
    const shopId = randomUUID()
    const bodies = Array.from({ length: 30 }, () => purchaseBody({ shop_id: shopId }))
    await postAccepted(api.url, bodies)

    for (const [role, app] of [
      ['api', api],
      ['consumer', consumer],
    ] as const) {
      expect(await app.stop(), outputs[role].slice(-2000)).toBe(0)
      expect(outputs[role]).toContain('"msg":"stopped"')
    }

    // Whatever it had not stored yet is still in Kafka for the next consumer.
    await track(startTestApp({ ROLE: 'consumer' }))
    await expectExactly(
      [shopId],
      bodies.map((b) => b.purchase_id as string),
    )
  })
})
