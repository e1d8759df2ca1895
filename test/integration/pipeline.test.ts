/** POST -> Kafka -> consumer -> Elasticsearch -> GET, on the real broker and store. */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { smokeCheck } from '../../runtime/smoke.ts'
import {
  isolatedPrefix,
  patience,
  postAccepted,
  postPurchase,
  readTopic,
  startTestPipeline,
  storedPurchaseIds,
  type TestPipeline,
  testTopic,
} from '../support/app.ts'
import { purchaseBody } from '../support/purchases.ts'

let app: TestPipeline
beforeAll(async () => {
  // Topics and a group of its own: members that other test files started and stopped cannot
  // trigger a rebalance (and so a redelivery) while this file counts what its consumer handles.
  // No canary: its purchases would count in the exactly-once test's counters.
  app = await startTestPipeline({ KAFKA_NAME_PREFIX: isolatedPrefix(), CANARY_INTERVAL_MS: '0' })
})
afterAll(() => app?.stop())

interface Page {
  purchases: { purchase_id: string; timestamp: string; scoops: unknown[]; total_cents: number }[]
  next_cursor: string | null
}

async function getPage(shopId: string, query: string): Promise<Page> {
  const response = await fetch(`${app.url}/purchases/${shopId}?${query}`)
  expect(response.status).toBe(200)
  return (await response.json()) as Page
}

test('the smoke check passes: a purchase goes all the way through', async () => {
  await smokeCheck(app.url, { timeoutMs: 45_000 })
})

test("one shop's purchases share a partition, in the order they were posted", async () => {
  const shopId = randomUUID()
  const bodies = Array.from({ length: 20 }, () => purchaseBody({ shop_id: shopId }))
  for (const body of bodies) expect((await postPurchase(app.url, body)).status).toBe(202)

  const seen: { partition: number; purchaseId: string }[] = []
  const reader = await readTopic(testTopic('purchases', isolatedPrefix()), (message, partition) => {
    if (message.key?.toString() !== shopId) return
    seen.push({ partition, purchaseId: JSON.parse(String(message.value)).purchase_id })
  })
  try {
    await expect.poll(() => seen.length, patience).toBeGreaterThanOrEqual(20)
  } finally {
    await reader.stop()
  }
  expect(new Set(seen.map((event) => event.partition)).size).toBe(1)
  expect(seen.map((event) => event.purchaseId)).toEqual(bodies.map((body) => body.purchase_id))
})

test('a purchase is read back as posted, normalised, with its total', async () => {
  const body = purchaseBody({ timestamp: '2021-12-30 13:30:00+01' })
  await postAccepted(app.url, [body])
  const page = await vi.waitFor(async () => {
    const found = await getPage(body.shop_id, 'date=2021-12-30')
    expect(found.purchases).toHaveLength(1)
    return found
  }, patience)
  expect(page.purchases[0]).toMatchObject({
    purchase_id: body.purchase_id,
    shop_id: body.shop_id,
    timestamp: '2021-12-30T12:30:00.000Z',
    scoops: body.scoops,
    total_cents: 800,
  })
})

test('re-posting a purchase id keeps one document: the copy received last', async () => {
  const first = purchaseBody()
  const second = { ...first, scoops: [{ type: 'mango', quantity: 3, price: 200 }] }
  await postAccepted(app.url, [first])
  await expect.poll(() => storedPurchaseIds([first.shop_id]), patience).toHaveLength(1)
  await postAccepted(app.url, [second])
  const page = await vi.waitFor(async () => {
    const found = await getPage(first.shop_id, 'date=2021-12-30')
    expect(found.purchases[0]?.total_cents).toBe(600)
    return found
  }, patience)
  expect(page.purchases).toHaveLength(1)
  expect(page.purchases[0]?.scoops).toEqual(second.scoops)
  expect(await storedPurchaseIds([first.shop_id])).toEqual([first.purchase_id])
})

test('a busy day comes in pages, oldest first, with no gaps, repeats or neighbours', async () => {
  const shopId = randomUUID()
  const onDay = Array.from({ length: 25 }, (_, i) =>
    purchaseBody({
      shop_id: shopId,
      // Some share a timestamp: the purchase id breaks the tie across page boundaries.
      timestamp: `2021-12-30T${String(8 + Math.floor(i / 3)).padStart(2, '0')}:00:00Z`,
    }),
  )
  const neighbours = [
    purchaseBody({ shop_id: shopId, timestamp: '2021-12-29T23:59:59.999Z' }),
    purchaseBody({ shop_id: shopId, timestamp: '2021-12-31T00:00:00Z' }),
  ]
  await postAccepted(app.url, [...onDay, ...neighbours])
  await expect.poll(() => storedPurchaseIds([shopId]), patience).toHaveLength(27)

  const seen: Page['purchases'] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: Page = await getPage(
      shopId,
      `date=2021-12-30&limit=10${cursor ? `&cursor=${cursor}` : ''}`,
    )
    seen.push(...page.purchases)
    cursor = page.next_cursor
    pages++
  } while (cursor)

  expect(pages).toBe(3)
  const expectedOrder = [...onDay]
    .map((p) => ({ id: p.purchase_id, at: Date.parse(p.timestamp as string) }))
    .sort((a, b) => a.at - b.at || a.id.localeCompare(b.id))
    .map((p) => p.id)
  expect(seen.map((p) => p.purchase_id)).toEqual(expectedOrder)
})

test('the summary matches the posted data, per flavour and per day', async () => {
  const shopId = randomUUID()
  const flavours = ['vanilla', 'chocolate', 'mint']
  const bodies = Array.from({ length: 30 }, (_, i) =>
    purchaseBody({
      shop_id: shopId,
      timestamp: `2021-12-${String(10 + (i % 3)).padStart(2, '0')}T${String(9 + (i % 8)).padStart(2, '0')}:15:00Z`,
      scoops: [
        { type: flavours[i % 3], quantity: 1 + (i % 4), price: 150 + 10 * (i % 5) },
        ...(i % 2 === 0 ? [{ type: 'mint', quantity: 1, price: 100 }] : []),
      ],
    }),
  )
  // Outside the range: must not count.
  bodies.push(purchaseBody({ shop_id: shopId, timestamp: '2021-12-13T00:00:00Z' }))
  await postAccepted(app.url, bodies)
  await expect.poll(() => storedPurchaseIds([shopId]), patience).toHaveLength(bodies.length)

  const inRange = bodies.slice(0, 30)
  const expected = {
    purchases: 0,
    scoops: 0,
    revenue_cents: 0,
    flavours: new Map<string, { purchases: Set<string>; scoops: number; revenue_cents: number }>(),
    days: new Map<string, { purchases: number; scoops: number; revenue_cents: number }>(),
  }
  for (const body of inRange) {
    const scoops = body.scoops as { type: string; quantity: number; price: number }[]
    const count = scoops.reduce((sum, s) => sum + s.quantity, 0)
    const revenue = scoops.reduce((sum, s) => sum + s.quantity * s.price, 0)
    expected.purchases++
    expected.scoops += count
    expected.revenue_cents += revenue
    const day = (body.timestamp as string).slice(0, 10)
    const dayTotals = expected.days.get(day) ?? { purchases: 0, scoops: 0, revenue_cents: 0 }
    expected.days.set(day, {
      purchases: dayTotals.purchases + 1,
      scoops: dayTotals.scoops + count,
      revenue_cents: dayTotals.revenue_cents + revenue,
    })
    for (const scoop of scoops) {
      const flavour = expected.flavours.get(scoop.type) ?? {
        purchases: new Set(),
        scoops: 0,
        revenue_cents: 0,
      }
      flavour.purchases.add(body.purchase_id)
      flavour.scoops += scoop.quantity
      flavour.revenue_cents += scoop.quantity * scoop.price
      expected.flavours.set(scoop.type, flavour)
    }
  }

  const response = await fetch(`${app.url}/shops/${shopId}/summary?from=2021-12-10&to=2021-12-12`)
  expect(response.status).toBe(200)
  expect(await response.json()).toEqual({
    purchases: expected.purchases,
    scoops: expected.scoops,
    revenue_cents: expected.revenue_cents,
    by_flavour: [...expected.flavours]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, f]) => ({
        type,
        purchases: f.purchases.size,
        scoops: f.scoops,
        revenue_cents: f.revenue_cents,
      })),
    by_day: [...expected.days]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([date, d]) => ({ date, ...d })),
  })
})

describe('bad requests over real HTTP', () => {
  const send = (path: string, init: RequestInit = {}) => fetch(`${app.url}${path}`, init)
  const jsonPost = (body: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })

  test('400 for malformed JSON', async () => {
    const response = await send('/purchases', jsonPost('{"shop_id":'))
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toContain('application/problem+json')
  })

  test('404 for an unknown route', async () => {
    expect((await send('/purchase')).status).toBe(404)
  })

  test('413 for a body over the limit, before it is read whole', async () => {
    const response = await send('/purchases', jsonPost(`{"pad":"${'x'.repeat(70 * 1024)}"}`))
    expect(response.status).toBe(413)
  })

  test('422 listing every failing field', async () => {
    const response = await send(
      '/purchases',
      jsonPost(
        JSON.stringify(
          purchaseBody({ shop_id: 'nope', scoops: [{ type: 'x', quantity: 0, price: -1 }] }),
        ),
      ),
    )
    expect(response.status).toBe(422)
    const problem = (await response.json()) as { errors: { path: string }[] }
    expect(problem.errors.map((e) => e.path).sort()).toEqual([
      'scoops.0.price',
      'scoops.0.quantity',
      'shop_id',
    ])
  })
})

test('each acknowledged event is handled exactly once by this consumer (no re-reads)', async () => {
  // The API's counters and the consumer's, side by side.
  const metrics = async () => {
    const texts = [app.url, app.consumerUrl].map(async (url) =>
      (await fetch(`${url}/metrics`)).text(),
    )
    return (await Promise.all(texts)).join('\n')
  }
  const counter = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0)
  const acknowledged = /kafka_published_events_total\{[^}]*outcome="acknowledged"\} (\d+)/
  const stored = /kafka_consumed_events_total\{[^}]*outcome="stored"\} (\d+)/
  const lag = (text: string) =>
    [...text.matchAll(/^kafka_consumer_lag\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    )
  /** The metrics once every event in the topic is committed by the consumer's group. */
  const caughtUp = () =>
    vi.waitFor(async () => {
      const text = await metrics()
      expect(lag(text)).toBe(0)
      return text
    }, patience)

  const before = await caughtUp()
  const shopId = randomUUID()
  await postAccepted(
    app.url,
    Array.from({ length: 50 }, () => purchaseBody({ shop_id: shopId })),
  )
  await expect.poll(() => storedPurchaseIds([shopId]), patience).toHaveLength(50)
  const after = await caughtUp()
  expect(counter(after, acknowledged) - counter(before, acknowledged)).toBe(50)
  expect(counter(after, stored) - counter(before, stored)).toBe(50)
})
