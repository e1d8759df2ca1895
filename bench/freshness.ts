/**
 * freshness: end to end at a fixed open-loop offered rate: how long after its 202 a purchase is returned
 * by `GET /purchases/{shop}?date=`. Every purchase is offered on schedule (runtime/load/open-loop);
 * about ten a second are tracked: they go to a few probe shops of their own, whose days the
 * bench polls, so each poll is one small query whatever the rate.
 */
import { randomUUID } from 'node:crypto'
import type { PurchaseInput } from '../handlers/purchase.ts'
import { runOpenLoop } from '../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
import { poll } from '../runtime/wait.ts'
import { call, metricTotal } from './http-client.ts'
import { type Percentiles, percentile, type Say } from './measure.ts'

export interface FreshnessResult {
  ratePerSecond: number
  seconds: number
  offered: number
  accepted: number
  /** Answers other than 202, connection errors, and sends skipped at the in-flight bound. */
  refused: number
  skipped: number
  tracked: number
  /** Tracked purchases never returned before the poll's bound. */
  missing: number
  /** POST to 202 (the produce, as the client sees it), all accepted sends. */
  produce: Percentiles
  /** 202 to returned by the GET, tracked purchases. */
  endToEnd: Percentiles
  /** The consumer's mean time to handle one batch (parse, bulk write) during the load. */
  batchMs: number
}

const trackedPerSecond = 10
const probeShops = 5
const pollEveryMs = 50
const pollBoundMs = 30_000

const percentiles = (values: number[]): Percentiles => {
  const sorted = values.toSorted((a, b) => a - b)
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
  }
}

export async function measureFreshness(options: {
  apiUrl: string
  consumerUrl: string
  ratePerSecond: number
  seconds: number
  seed: number
  say: Say
}): Promise<FreshnessResult> {
  const { apiUrl, consumerUrl, ratePerSecond, seconds, say } = options
  const purchases = createPurchaseGenerator({ seed: options.seed })
  const shops = Array.from({ length: probeShops }, () => randomUUID())
  const trackEvery = Math.max(1, Math.round(ratePerSecond / trackedPerSecond))
  /** Tracked purchase id -> its shop, day and when its 202 came. */
  const pending = new Map<string, { shop: string; date: string; acceptedAt: number }>()
  const produce: number[] = []
  const endToEnd: number[] = []
  let offeredCount = 0
  let tracked = 0
  let refused = 0

  const next = (): { purchase: PurchaseInput; track: boolean } => {
    const purchase = purchases.next()
    const track = ++offeredCount % trackEvery === 0
    if (track) purchase.shop_id = shops[tracked++ % shops.length] as string
    return { purchase, track }
  }
  const send = async ({ purchase, track }: { purchase: PurchaseInput; track: boolean }) => {
    const sentAt = performance.now()
    const answer = await call(`${apiUrl}/purchases`, 'POST', JSON.stringify(purchase)).catch(
      () => undefined,
    )
    const acceptedAt = performance.now()
    if (answer?.status !== 202) {
      refused++
      return
    }
    produce.push(acceptedAt - sentAt)
    if (track) {
      pending.set(purchase.purchase_id, {
        shop: purchase.shop_id,
        date: purchase.timestamp.slice(0, 10),
        acceptedAt,
      })
    }
  }

  // Polls each probe shop's day that has a purchase not seen yet, every pollEveryMs, until the
  // load ended and every tracked purchase came back or pollBoundMs passed since.
  let loading = true
  let loadEndedAt: number | undefined
  const lookUp = async () => {
    const days = new Set([...pending.values()].map(({ shop, date }) => `${shop}/${date}`))
    await Promise.all(
      [...days].map(async (day) => {
        const [shop, date] = day.split('/')
        const answer = await call(
          `${apiUrl}/purchases/${shop}?date=${date}&limit=1000`,
          'GET',
        ).catch(() => undefined)
        if (answer?.status !== 200) return
        const seenAt = performance.now()
        const page = JSON.parse(answer.body) as { purchases: { purchase_id: string }[] }
        for (const { purchase_id } of page.purchases) {
          const waiting = pending.get(purchase_id)
          if (!waiting) continue
          endToEnd.push(seenAt - waiting.acceptedAt)
          pending.delete(purchase_id)
        }
      }),
    )
    if (loading) return undefined
    loadEndedAt ??= performance.now()
    return pending.size === 0 || performance.now() - loadEndedAt > pollBoundMs || undefined
  }

  const batchesBefore = await metricTotal(consumerUrl, 'store_batch_duration_seconds_count')
  const batchSecondsBefore = await metricTotal(consumerUrl, 'store_batch_duration_seconds_sum')
  const polling = poll(lookUp, {
    intervalMs: pollEveryMs,
    signal: AbortSignal.timeout(seconds * 1000 + pollBoundMs * 2),
  })
  const stats = await runOpenLoop(next, send, {
    ratePerSecond,
    durationMs: seconds * 1000,
    maxInFlight: 2_000,
    onProgress: (progress) =>
      say(
        `  ${Math.round(progress.elapsedMs / 1000)} s of ${seconds} s: ${progress.offered} offered, ` +
          `${produce.length} accepted, ${endToEnd.length} of ${tracked} tracked returned`,
      ),
  }).finally(() => {
    loading = false
  })
  await polling
  const batches =
    (await metricTotal(consumerUrl, 'store_batch_duration_seconds_count')) - batchesBefore
  const batchSeconds =
    (await metricTotal(consumerUrl, 'store_batch_duration_seconds_sum')) - batchSecondsBefore
  return {
    ratePerSecond,
    seconds,
    offered: stats.offered,
    accepted: produce.length,
    refused: refused + stats.skipped,
    skipped: stats.skipped,
    tracked,
    missing: pending.size,
    produce: percentiles(produce),
    endToEnd: percentiles(endToEnd),
    batchMs: batches > 0 ? (batchSeconds / batches) * 1000 : Number.NaN,
  }
}
