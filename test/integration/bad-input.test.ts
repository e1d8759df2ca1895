/**
 * Hand-written bad input against the API as a process on the test stack: each gets a 4xx
 * problem+json that its OpenAPI document lists, without a stack trace, and the server keeps
 * answering other clients meanwhile. Slow clients are cut by the server's own timeouts (the
 * tests wait for the socket to close), and connections beyond the cap are refused.
 */
import { randomUUID } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { AppProcess } from '../../scripts/local-stack/harness.ts'
import { startTestProcess } from '../support/app.ts'
import { purchaseBody } from '../support/purchases.ts'

const maxConnections = 20
let api: AppProcess
const apiLog: string[] = []
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
}
let openapi: OpenApiDocument

beforeAll(async () => {
  api = await startTestProcess(
    {
      ROLE: 'api',
      LOG_LEVEL: 'info',
      // Short, so that the tests see the cuts; the request's stays longer than the publish's.
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      PUBLISH_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '3000',
      HTTP_MAX_CONNECTIONS: String(maxConnections),
    },
    (line) => apiLog.push(line),
  )
  openapi = (await (await fetch(`${api.url}/openapi.json`)).json()) as OpenApiDocument
}, 120_000)
afterAll(() => api?.stop())

/** The answer is a problem+json the document lists for this operation, with no stack trace. */
async function expectProblem(
  response: Response,
  status: number,
  operation: { method: string; path: string },
): Promise<{ title: string; detail?: string }> {
  const text = await response.text()
  expect({ status: response.status, text }).toMatchObject({ status })
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
  expect(text).not.toMatch(/\n\s+at |node:internal|\.ts:\d+/)
  const body = JSON.parse(text)
  expect(body).toMatchObject({ status, title: expect.any(String) })
  expect(Object.keys(openapi.paths[operation.path]?.[operation.method]?.responses ?? {})).toContain(
    String(status),
  )
  return body
}

const postPurchases = { method: 'post', path: '/purchases' }
const getPurchases = { method: 'get', path: '/purchases/{shop_id}' }
const getSummary = { method: 'get', path: '/shops/{shop_id}/summary' }

const post = (body: RequestInit['body'], contentType: string | null = 'application/json') =>
  fetch(`${api.url}/purchases`, {
    method: 'POST',
    headers: contentType ? { 'content-type': contentType } : {},
    body,
    duplex: 'half',
  } as RequestInit)

/**
 * Other clients, answered while a bad one is dealt with: the health check, and a purchase read
 * and validated (a 422: Kafka's pace under load is not what this measures).
 */
async function expectOthersServed(): Promise<void> {
  expect((await fetch(`${api.url}/healthz`)).status).toBe(200)
  const invalid = await post(JSON.stringify(purchaseBody({ scoops: [] })))
  expect(invalid.status).toBe(422)
}

/** A raw connection: what the server wrote before it closed it. */
function rawConnection(): { socket: Socket; received: Promise<string> } {
  const { port } = new URL(api.url)
  const socket = connect(Number(port), '127.0.0.1')
  let text = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk
  })
  // A reset is one way of being cut: 'close' follows the error (events.once would reject on it).
  socket.on('error', () => {})
  return { socket, received: new Promise((resolve) => socket.on('close', () => resolve(text))) }
}

/** The status line and the JSON body of a raw HTTP answer. */
function parseRaw(raw: string): { status: number; contentType: string; body: unknown } {
  const [head = '', body = ''] = raw.split('\r\n\r\n')
  return {
    status: Number(head.match(/^HTTP\/1\.1 (\d{3})/)?.[1]),
    contentType: head.match(/content-type: ([^\r\n]+)/i)?.[1] ?? '',
    body: JSON.parse(body),
  }
}

describe('bodies', () => {
  test('bytes that are not UTF-8 are a 400, not a flavour with U+FFFD in it', async () => {
    const [before, after] = JSON.stringify(purchaseBody()).split('vanilla')
    const bytes = Buffer.concat([
      Buffer.from(`${before}van`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`illa${after}`),
    ])
    const body = await expectProblem(await post(bytes), 400, postPurchases)
    expect(body.detail).toMatch(/UTF-8/)
  })

  test('a key repeated within one object is a 400 naming it', async () => {
    const purchase = purchaseBody()
    const text = JSON.stringify(purchase).replace(
      '"purchase_id":',
      `"purchase_id":"${randomUUID()}","purchase_id":`,
    )
    const body = await expectProblem(await post(text), 400, postPurchases)
    expect(body.detail).toMatch(/"purchase_id" appears twice/)
  })

  test('deeply nested JSON is refused by the schema', async () => {
    const arrays = `${'['.repeat(30_000)}${']'.repeat(30_000)}`
    await expectProblem(await post(arrays), 422, postPurchases)
    const objects = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`
    await expectProblem(await post(objects), 422, postPurchases)
    await expectOthersServed()
  })

  test('huge numbers are a 422 naming the field', async () => {
    const base = JSON.stringify(purchaseBody())
    for (const huge of ['1e400', '123456789012345678901234567890', '-1e400']) {
      const text = base.replace(/"quantity":\d+/, `"quantity":${huge}`)
      const body = await expectProblem(await post(text), 422, postPurchases)
      expect(JSON.stringify(body)).toContain('scoops.0.quantity')
    }
  })

  test.each([
    ['text/plain', 'text/plain'],
    ['form-encoded', 'application/x-www-form-urlencoded'],
    ['no content type', null],
  ])('a body sent as %s is a 415', async (_, contentType) => {
    // Without a type, fetch would call a string text/plain: bytes say nothing of what they are.
    const body = new TextEncoder().encode(JSON.stringify(purchaseBody()))
    await expectProblem(await post(body, contentType), 415, postPurchases)
  })

  test('a body over the limit, sent chunked without a length, is a 413', async () => {
    const chunk = new TextEncoder().encode(`${' '.repeat(8191)}\n`)
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Twice the limit, chunk by chunk: nothing tells the server the size in advance.
        if (sent >= 128 * 1024) controller.close()
        else controller.enqueue(chunk)
        sent += chunk.length
      },
    })
    await expectProblem(await post(body), 413, postPurchases)
    await expectOthersServed()
  })
})

describe('queries and dates', () => {
  const shop = randomUUID()

  test('a repeated query parameter is a 422', async () => {
    const response = await fetch(
      `${api.url}/purchases/${shop}?date=2021-12-30&date=2021-12-31&limit=5&limit=6`,
    )
    const body = await expectProblem(response, 422, getPurchases)
    expect(JSON.stringify(body)).toMatch(/"path":"date"/)
  })

  test.each([['1970-01-01'], ['1999-12-31'], ['2100-01-01'], ['9999-12-31'], ['+275760-09-13']])(
    'the day %s, outside 2000-2099, is a 422',
    async (date) => {
      const days = await fetch(`${api.url}/purchases/${shop}?date=${encodeURIComponent(date)}`)
      await expectProblem(days, 422, getPurchases)
      const summary = await fetch(
        `${api.url}/shops/${shop}/summary?from=${encodeURIComponent(date)}&to=2021-12-30`,
      )
      await expectProblem(summary, 422, getSummary)
    },
  )

  test.each([
    ['1999-12-31T23:59:59Z'],
    ['2100-01-01T00:00:00Z'],
    ['9999-12-31T23:59:59Z'],
    ['+275760-09-13T00:00:00Z'],
    ['2099-12-31T23:59:59Z'], // within the pattern, but more than a day ahead of the clock
  ])('a purchase dated %s is a 422', async (timestamp) => {
    const body = await expectProblem(
      await post(JSON.stringify(purchaseBody({ timestamp }))),
      422,
      postPurchases,
    )
    expect(JSON.stringify(body)).toMatch(/timestamp/i)
  })
})

describe('slow and greedy clients', () => {
  test('slow headers are cut with a 408 while other clients are served', async () => {
    const { socket, received } = rawConnection()
    socket.write(`GET /healthz HTTP/1.1\r\nHost: test\r\n`) // and never the blank line
    await expectOthersServed()
    const answer = parseRaw(await received)
    expect(answer).toMatchObject({ status: 408, contentType: 'application/problem+json' })
    expect(answer.body).toMatchObject({ status: 408, title: 'Request timeout' })
  })

  test('a slow body is cut with a 408 while other clients are served', async () => {
    const { socket, received } = rawConnection()
    socket.write(
      'POST /purchases HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
        'Content-Length: 200\r\n\r\n{"shop_id":',
    )
    await expectOthersServed()
    const answer = parseRaw(await received)
    expect(answer).toMatchObject({ status: 408, contentType: 'application/problem+json' })
    // The handler whose body never came logs the abort; nothing is an unhandled error.
    expect(apiLog.filter((line) => line.includes('unhandled error'))).toEqual([])
  })

  test('headers too large are a 431, a malformed request a 400', async () => {
    const large = rawConnection()
    large.socket.write(
      `GET /healthz HTTP/1.1\r\nHost: test\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
    )
    expect(parseRaw(await large.received)).toMatchObject({ status: 431 })
    const malformed = rawConnection()
    malformed.socket.write('NOT HTTP AT ALL\r\n\r\n')
    expect(parseRaw(await malformed.received)).toMatchObject({ status: 400 })
  })

  test('connections beyond HTTP_MAX_CONNECTIONS are closed at once, and served again after', async () => {
    // More than the cap, each holding its slot with half a request (the headers timeout cuts it).
    const connections = Array.from({ length: maxConnections + 5 }, () => rawConnection())
    for (const { socket } of connections) socket.write('GET /healthz HTTP/1.1\r\n')
    const answers = await Promise.all(connections.map(({ received }) => received))
    const refused = answers.filter((answer) => answer === '')
    const cut = answers.filter((answer) => answer.startsWith('HTTP/1.1 408'))
    // Idle keep-alive connections of earlier requests may hold slots too: at least 5 refused.
    expect(refused.length).toBeGreaterThanOrEqual(5)
    expect(cut.length).toBeLessThanOrEqual(maxConnections)
    expect(refused.length + cut.length).toBe(connections.length)
    await expectOthersServed()
  })
})
