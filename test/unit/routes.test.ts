import { describe, expect, test } from 'vitest'
import { HttpError, UnavailableError } from '../../handlers/errors.ts'
import getPurchases from '../../handlers/routes/get-purchases.ts'
import getShopSummary from '../../handlers/routes/get-shop-summary.ts'
import postPurchase from '../../handlers/routes/post-purchase.ts'
import { memoryPorts } from '../support/memory-ports.ts'
import { purchaseBody } from '../support/purchases.ts'

const shopId = '7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1'

async function post(ports: ReturnType<typeof memoryPorts>, overrides = {}) {
  const body = PurchaseBodyParsed(purchaseBody({ shop_id: shopId, ...overrides }))
  return postPurchase.handler({ params: {}, query: {}, body }, ports)
}

function PurchaseBodyParsed(input: unknown) {
  return postPurchase.request.body.parse(input)
}

describe('POST /purchases', () => {
  test('publishes the purchase keyed by shop with the time it was received', async () => {
    const ports = memoryPorts(new Date('2021-12-30T12:00:05Z'))
    const result = await post(ports)
    expect(result.status).toBe(202)
    expect(ports.published).toHaveLength(1)
    const [{ topic, event }] = ports.published as [(typeof ports.published)[number]]
    expect(topic).toBe('purchases')
    expect(event.key).toBe(shopId)
    expect(event.value).toMatchObject({
      shop_id: shopId,
      timestamp: '2021-12-30T12:00:00.000Z',
      received_at: '2021-12-30T12:00:05.000Z',
    })
  })

  test('refuses a timestamp more than a day ahead of the clock', async () => {
    const ports = memoryPorts(new Date('2021-12-28T11:59:00Z'))
    await expect(post(ports)).rejects.toMatchObject({ status: 422 })
    expect(ports.published).toHaveLength(0)
  })

  test('lets an unavailable broker surface as UnavailableError', async () => {
    const ports = memoryPorts()
    ports.outage.kafka = true
    await expect(post(ports)).rejects.toBeInstanceOf(UnavailableError)
  })
})

describe('GET /purchases/{shop_id}', () => {
  async function seed(ports: ReturnType<typeof memoryPorts>, timestamps: string[]) {
    const { default: subscriber } = await import('../../handlers/subscribers/store-purchases.ts')
    const events = timestamps.map((timestamp, i) =>
      subscriber.schema.parse({
        ...purchaseBody({ shop_id: shopId }),
        purchase_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        timestamp,
        received_at: '2021-12-31T00:00:00.000Z',
      }),
    )
    await subscriber.handle(events, ports)
  }

  const query = (date: string, extra: Record<string, unknown> = {}) =>
    getPurchases.request.query.parse({ date, ...extra })

  test('returns the day in UTC by default, oldest first, bounds half-open', async () => {
    const ports = memoryPorts()
    await seed(ports, [
      '2021-12-30T23:59:59.999Z',
      '2021-12-30T00:00:00.000Z',
      '2021-12-31T00:00:00.000Z',
      '2021-12-29T23:59:59.999Z',
    ])
    const result = await getPurchases.handler(
      { params: { shop_id: shopId }, query: query('2021-12-30'), body: {} },
      ports,
    )
    const body = result.body as { from: string; to: string; purchases: { timestamp: string }[] }
    expect(body.from).toBe('2021-12-30T00:00:00Z')
    expect(body.to).toBe('2021-12-31T00:00:00Z')
    expect(body.purchases.map((p) => p.timestamp)).toEqual([
      '2021-12-30T00:00:00.000Z',
      '2021-12-30T23:59:59.999Z',
    ])
  })

  test('a time zone moves the bounds, and a DST day is 23 hours', async () => {
    const ports = memoryPorts()
    const result = await getPurchases.handler(
      {
        params: { shop_id: shopId },
        query: query('2021-03-28', { tz: 'Europe/Amsterdam' }),
        body: {},
      },
      ports,
    )
    expect(result.body).toMatchObject({
      from: '2021-03-27T23:00:00Z',
      to: '2021-03-28T22:00:00Z',
      time_zone: 'Europe/Amsterdam',
    })
  })

  test('pages with a cursor until next_cursor is null, without gaps or repeats', async () => {
    const ports = memoryPorts()
    const timestamps = Array.from({ length: 7 }, () => '2021-12-30T10:00:00.000Z')
    await seed(ports, timestamps)
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const result = await getPurchases.handler(
        {
          params: { shop_id: shopId },
          query: query('2021-12-30', { limit: '3', ...(cursor && { cursor }) }),
          body: {},
        },
        ports,
      )
      const body = result.body as {
        purchases: { purchase_id: string }[]
        next_cursor: string | null
      }
      seen.push(...body.purchases.map((p) => p.purchase_id))
      cursor = body.next_cursor ?? undefined
      pages++
    } while (cursor)
    expect(pages).toBe(3)
    expect(seen).toEqual([...seen].sort())
    expect(new Set(seen).size).toBe(7)
  })

  test('a forged cursor breaks the query schema', () => {
    for (const cursor of ['bm9wZQ', '1640858400000_not-a-uuid', `x_${shopId}`]) {
      expect(getPurchases.request.query.safeParse({ date: '2021-12-30', cursor }).success).toBe(
        false,
      )
    }
  })

  test('rejects an unknown time zone and a bad date', () => {
    expect(
      getPurchases.request.query.safeParse({ date: '2021-12-30', tz: 'Mars/Olympus' }).success,
    ).toBe(false)
    expect(getPurchases.request.query.safeParse({ date: '2021-13-01' }).success).toBe(false)
  })
})

describe('GET /shops/{shop_id}/summary', () => {
  const query = (from: string, to: string, tz?: string) =>
    getShopSummary.request.query.parse({ from, to, ...(tz && { tz }) })

  test('asks the store for the inclusive range in the time zone', async () => {
    const ports = memoryPorts()
    const result = await getShopSummary.handler(
      {
        params: { shop_id: shopId },
        query: query('2021-12-01', '2021-12-31', 'America/New_York'),
        body: {},
      },
      ports,
    )
    expect(result.status).toBe(200)
    expect(ports.summaryQueries).toEqual([
      {
        shopId,
        from: '2021-12-01T05:00:00Z',
        to: '2022-01-01T05:00:00Z',
        timeZone: 'America/New_York',
      },
    ])
  })

  test.each([
    ['2021-12-31', '2021-12-01'],
    ['2020-01-01', '2021-12-31'],
  ])('refuses the range %s..%s', async (from, to) => {
    const error = await getShopSummary
      .handler({ params: { shop_id: shopId }, query: query(from, to), body: {} }, memoryPorts())
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HttpError)
    expect(error).toMatchObject({ status: 422 })
  })
})
