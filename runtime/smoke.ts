/**
 * The end-to-end smoke check: POST a purchase with fresh ids, poll GET until the consumer has
 * stored it, then check the shop's summary. `helm test` runs it in the cluster; the integration
 * tests run the same function against the local stack.
 *
 *   SMOKE_BASE_URL=http://localhost:8080 node dist/runtime/smoke.js
 */
import { randomUUID } from 'node:crypto'
import { poll } from './wait.ts'

export interface SmokeOptions {
  timeoutMs: number
  log?: (line: string) => void
}

export class SmokeFailure extends Error {}

interface Answer {
  status: number
  body: unknown
}

async function call(url: string, init?: RequestInit): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
  const text = await response.text()
  try {
    return { status: response.status, body: JSON.parse(text) }
  } catch {
    return { status: response.status, body: text }
  }
}

/** Resolves when a purchase went all the way through; throws `SmokeFailure` saying where it stopped. */
export async function smokeCheck(baseUrl: string, options: SmokeOptions): Promise<void> {
  const log = options.log ?? (() => {})
  const deadline = AbortSignal.timeout(options.timeoutMs)
  const purchase = {
    shop_id: randomUUID(),
    purchase_id: randomUUID(),
    timestamp: new Date().toISOString(),
    scoops: [
      { type: 'vanilla', quantity: 2, price: 250 },
      { type: 'smoke-test', quantity: 1, price: 99 },
    ],
  }
  const date = purchase.timestamp.slice(0, 10)

  // The API may still be warming up: retry 503s until the deadline.
  let posted: Answer = { status: 0, body: 'no answer yet' }
  const refused = () =>
    new SmokeFailure(`POST /purchases answered ${posted.status}: ${JSON.stringify(posted.body)}`)
  await poll(
    async () => {
      posted = await call(`${baseUrl}/purchases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(purchase),
      }).catch((error: unknown) => ({ status: 0, body: String(error) }))
      if (posted.status === 202) return true
      if (posted.status !== 503 && posted.status !== 0) throw refused()
      return undefined
    },
    { signal: deadline, intervalMs: 1_000 },
  ).catch((error: unknown) => {
    throw error instanceof SmokeFailure ? error : refused()
  })
  log(`posted purchase ${purchase.purchase_id} for shop ${purchase.shop_id}`)

  let page: Answer = { status: 0, body: 'no answer yet' }
  await poll(
    async () => {
      page = await call(`${baseUrl}/purchases/${purchase.shop_id}?date=${date}`).catch(
        (error: unknown) => ({ status: 0, body: String(error) }),
      )
      const found =
        page.status === 200 &&
        (page.body as { purchases: { purchase_id: string }[] }).purchases.some(
          (p) => p.purchase_id === purchase.purchase_id,
        )
      return found || undefined
    },
    { signal: deadline, intervalMs: 500 },
  ).catch(() => {
    throw new SmokeFailure(
      `purchase ${purchase.purchase_id} was not readable within ${options.timeoutMs / 1000} s ` +
        `(last GET: ${page.status} ${JSON.stringify(page.body).slice(0, 300)}); ` +
        'is the consumer running and is Elasticsearch ready?',
    )
  })
  log('read it back')

  const summary = await call(`${baseUrl}/shops/${purchase.shop_id}/summary?from=${date}&to=${date}`)
  const expected = { purchases: 1, scoops: 3, revenue_cents: 599 }
  const body = summary.body as Record<string, unknown>
  const matches =
    summary.status === 200 && Object.entries(expected).every(([k, v]) => body[k] === v)
  if (!matches) {
    throw new SmokeFailure(
      `summary answered ${summary.status} ${JSON.stringify(body)}, expected ${JSON.stringify(expected)}`,
    )
  }
  log('summary matches')
}

async function main(): Promise<void> {
  const baseUrl = process.env.SMOKE_BASE_URL
  const timeoutSeconds = Number(process.env.SMOKE_TIMEOUT_SECONDS ?? 120)
  if (!baseUrl || !/^https?:\/\//.test(baseUrl) || !(timeoutSeconds > 0)) {
    process.stderr.write(
      'SMOKE_BASE_URL must be the API URL (http://host:port); SMOKE_TIMEOUT_SECONDS a positive number\n',
    )
    process.exit(2)
  }
  const log = (line: string) => process.stdout.write(`smoke: ${line}\n`)
  try {
    await smokeCheck(baseUrl.replace(/\/$/, ''), { timeoutMs: timeoutSeconds * 1000, log })
    log('passed: a purchase went through Kafka into Elasticsearch and back')
  } catch (error) {
    process.stderr.write(
      `smoke: FAILED: ${error instanceof Error ? error.message : String(error)}\n`,
    )
    process.exit(1)
  }
}

if (import.meta.main) await main()
