import { describe, expect, test } from 'vitest'
import { purchaseBody } from '../support/purchases.ts'
import { memoryApp } from '../support/runtime.ts'

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

describe('HTTP runtime', () => {
  test('POST /purchases answers 202 once published', async () => {
    const { app, ports } = await memoryApp()
    const body = purchaseBody()
    const response = await app.request('/purchases', json(body))
    expect(response.status).toBe(202)
    expect(await response.json()).toEqual({ purchase_id: body.purchase_id, status: 'accepted' })
    expect(ports.published).toHaveLength(1)
  })

  test('malformed JSON is a 400 problem', async () => {
    const { app, ports } = await memoryApp()
    const response = await app.request('/purchases', json('{"shop_id": '))
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toContain('application/problem+json')
    expect(ports.published).toHaveLength(0)
  })

  test('a body that is not JSON by content type is refused, not treated as empty', async () => {
    const { app } = await memoryApp()
    const response = await app.request('/purchases', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(purchaseBody()),
    })
    expect(response.status).toBe(415)
  })

  test('schema violations are a 422 listing every field path', async () => {
    const { app } = await memoryApp()
    const response = await app.request(
      '/purchases',
      json(
        purchaseBody({
          purchase_id: 'x',
          timestamp: 'noon',
          scoops: [{ type: 'mint', quantity: -1, price: 100 }],
        }),
      ),
    )
    expect(response.status).toBe(422)
    const problem = (await response.json()) as { errors: { in: string; path: string }[] }
    expect(problem.errors.map((e) => e.path).sort()).toEqual([
      'purchase_id',
      'scoops.0.quantity',
      'timestamp',
    ])
    expect(problem.errors.every((e) => e.in === 'body')).toBe(true)
  })

  test('query and path violations name their location', async () => {
    const { app } = await memoryApp()
    const response = await app.request('/purchases/not-a-uuid?date=2021-12-30')
    expect(response.status).toBe(422)
    const problem = (await response.json()) as { errors: { in: string; path: string }[] }
    expect(problem.errors).toEqual([expect.objectContaining({ in: 'path', path: 'shop_id' })])
  })

  test('an oversized body is a 413', async () => {
    const { app, ports } = await memoryApp()
    const response = await app.request(
      '/purchases',
      json({ ...purchaseBody(), pad: 'x'.repeat(20_000) }),
    )
    expect(response.status).toBe(413)
    expect(ports.published).toHaveLength(0)
  })

  test('an unknown route is a 404 problem', async () => {
    const { app } = await memoryApp()
    const response = await app.request('/nope')
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not found' })
  })

  test('a known path asked with another method is a 405 problem naming the methods it takes', async () => {
    const { app } = await memoryApp()
    for (const [method, path, allow] of [
      ['PATCH', '/purchases', 'POST'],
      ['DELETE', '/purchases/7b0d8b4e-8f6a-4a63-9c36-3f1f5bb1e1a1', 'GET, HEAD'],
      ['PUT', '/healthz', 'GET, HEAD'],
    ] as const) {
      const response = await app.request(path, { method })
      expect(response.status, `${method} ${path}`).toBe(405)
      expect(response.headers.get('allow')).toBe(allow)
      expect(await response.json()).toMatchObject({ status: 405, title: 'Method not allowed' })
    }
  })

  test('Kafka down is a 503 with Retry-After', async () => {
    const { app, ports } = await memoryApp()
    ports.outage.kafka = true
    const response = await app.request('/purchases', json(purchaseBody()))
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('2')
  })

  test('Elasticsearch down makes reads 503 with Retry-After', async () => {
    const { app, ports } = await memoryApp()
    ports.outage.store = true
    const response = await app.request(`/purchases/${purchaseBody().shop_id}?date=2021-12-30`)
    expect(response.status).toBe(503)
    expect(response.headers.get('retry-after')).toBe('2')
  })

  test.each([
    { required: true, status: 503, ready: 'not ready' },
    // The API stays in the load balancer while the store is down: the queue takes purchases.
    { required: false, status: 200, ready: 'ready' },
  ])(
    'readiness with Elasticsearch down and required: $required answers $status, naming each check',
    async ({ required, status, ready }) => {
      const { app } = await memoryApp({
        readiness: {
          kafka: { required: true, check: async () => {} },
          elasticsearch: {
            required,
            check: async () => {
              throw new Error('connection refused')
            },
          },
        },
      })
      const response = await app.request('/readyz')
      expect(response.status).toBe(status)
      expect(await response.json()).toEqual({
        status: ready,
        checks: { kafka: 'ok', elasticsearch: 'connection refused' },
      })
      expect((await app.request('/healthz')).status).toBe(200)
    },
  )

  test('every route answers the same with a trailing slash', async () => {
    const { app, ports } = await memoryApp()
    const body = purchaseBody()
    expect((await app.request('/purchases/', json(body))).status).toBe(202)
    expect(ports.published).toHaveLength(1)
    const day = await app.request(`/purchases/${body.shop_id}/?date=2021-12-30`)
    expect(day.status).toBe(200)
    const summary = await app.request(
      `/shops/${body.shop_id}/summary/?from=2021-12-01&to=2021-12-31`,
    )
    expect(summary.status).toBe(200)
    expect((await app.request('/healthz/')).status).toBe(200)
  })

  test("the OpenAPI document's patterns are the code's own, as bare expressions", async () => {
    const { app } = await memoryApp()
    const text = await (await app.request('/openapi.json')).text()
    const patterns = [...text.matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map(
      ([, json]) => JSON.parse(json as string) as string,
    )
    expect(patterns.length).toBeGreaterThan(0)
    for (const pattern of patterns) {
      // A generator that writes a flagged RegExp whole leaves its `/u` at the end.
      expect(pattern).toMatch(/\$$/)
      expect(() => new RegExp(pattern, 'u')).not.toThrow()
    }
    const flavour = new RegExp(
      (
        JSON.parse(text) as {
          components: { schemas: { Scoop: { properties: { type: { pattern: string } } } } }
        }
      ).components.schemas.Scoop.properties.type.pattern,
      'u',
    )
    expect(['chocolate', 'lemon sorbet', 'x'.repeat(64)].map((name) => flavour.test(name))).toEqual(
      [true, true, true],
    )
    expect([' vanilla', 'x'.repeat(65), 'a\u0000b'].map((name) => flavour.test(name))).toEqual([
      false,
      false,
      false,
    ])
  })

  test('OpenAPI lists every route with its schemas, and /docs serves its own assets', async () => {
    const { app } = await memoryApp()
    const spec = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>
      components: { schemas: Record<string, unknown> }
    }
    expect(Object.keys(spec.paths).sort()).toEqual([
      '/purchases',
      '/purchases/{shop_id}',
      '/shops/{shop_id}/summary',
    ])
    expect(spec.components.schemas).toHaveProperty('PurchaseInput')
    const page = await (await app.request('/docs')).text()
    expect(page).toContain('/docs/swagger-ui-bundle.js')
    expect(page).not.toMatch(/https?:\/\//)
    const bundle = await app.request('/docs/swagger-ui-bundle.js')
    expect(bundle.status).toBe(200)
    expect((await bundle.text()).length).toBeGreaterThan(100_000)
  })

  test('/metrics exposes request metrics in Prometheus text', async () => {
    const { app } = await memoryApp()
    await app.request('/healthz')
    const text = await (await app.request('/metrics')).text()
    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1',
    )
  })
})
