/**
 * The Demo port: the live page's load generator (on the one generator: runtime/load/), the
 * freshness canary, and the API's recent latency. Purchases go through the API's own HTTP app
 * (`post`), so they are validated, published and counted like any shop's.
 */
import type { PurchaseStore } from '../../handlers/ports.ts'
import type { PurchaseInput } from '../../handlers/purchase.ts'
import { runOpenLoop } from '../../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'
import type { AppLogger } from '../../runtime/logger.ts'
import { poll } from '../../runtime/wait.ts'
import type { Demo, LoadStatus } from '../ports.ts'

export interface DemoOptions {
  /** Posts a purchase through the API; resolves with the HTTP status. */
  post(purchase: PurchaseInput): Promise<number>
  store: Pick<PurchaseStore, 'findPurchases'>
  /** 0: no canary. */
  canaryIntervalMs: number
  /** Where each canary's 202 -> searchable time goes (runtime/metrics.ts). */
  freshness: { observe(seconds: number): void }
  logger: AppLogger
}

/** The canary's own shop, so its purchases are easy to tell apart. */
export const canaryShopId = 'ca11ab1e-0000-4000-8000-000000000000'
const maxInFlight = 256
const keptSamples = 200
const latencyWindowMs = 10_000
/** A canary purchase not searchable by then is counted at this bound. */
const canaryGiveUpMs = 120_000
const canaryPollMs = 100

const quantile = (sorted: number[], q: number): number | null =>
  sorted.length === 0
    ? null
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null)

export function createDemo(options: DemoOptions): Demo & {
  /** Feeds the latency window: each POST /purchases the API answered, in seconds. */
  recordPurchaseLatency(seconds: number): void
  stop(): void
} {
  const { logger } = options
  const { freshness } = options
  const freshnessSamples: number[] = []
  const latencies: { at: number; seconds: number }[] = []
  let load: { status: LoadStatus; stop: AbortController } | undefined
  let seed = Date.now()
  const idle = (): LoadStatus => ({
    running: false,
    ratePerSecond: 0,
    sent: 0,
    accepted: 0,
    endsAt: null,
  })

  const stopLoad = () => {
    load?.stop.abort()
    return load ? { ...load.status } : idle()
  }

  const canary = createPurchaseGenerator({ seed: seed++, shops: 1 })
  const probe = async () => {
    const purchase = { ...canary.next(), shop_id: canaryShopId }
    if ((await options.post(purchase)) !== 202) return
    const accepted = performance.now()
    const at = Date.parse(purchase.timestamp)
    const query = {
      shopId: canaryShopId,
      from: new Date(at).toISOString(),
      to: new Date(at + 1).toISOString(),
      limit: 10,
    }
    await poll(
      async () => {
        const found = await options.store.findPurchases(query).catch(() => [])
        return found.some((p) => p.purchase_id === purchase.purchase_id) || undefined
      },
      { signal: AbortSignal.timeout(canaryGiveUpMs), intervalMs: canaryPollMs },
    ).catch(() => {})
    const seconds = (performance.now() - accepted) / 1000
    freshness.observe(seconds)
    freshnessSamples.push(seconds)
    freshnessSamples.splice(0, Math.max(0, freshnessSamples.length - keptSamples))
  }
  let probing = false
  const canaryTimer =
    options.canaryIntervalMs > 0
      ? setInterval(() => {
          // One probe at a time: a slow store makes fewer, longer samples, not a pile of them.
          if (probing) return
          probing = true
          probe()
            .catch((error: unknown) => logger.warn({ err: error }, 'canary failed'))
            .finally(() => {
              probing = false
            })
        }, options.canaryIntervalMs)
      : undefined
  canaryTimer?.unref()

  return {
    startLoad({ ratePerSecond, durationSeconds }) {
      stopLoad()
      const generator = createPurchaseGenerator({ seed: seed++ })
      const status: LoadStatus = {
        running: true,
        ratePerSecond,
        sent: 0,
        accepted: 0,
        endsAt: new Date(Date.now() + durationSeconds * 1000).toISOString(),
      }
      const current = { status, stop: new AbortController() }
      load = current
      logger.info({ ratePerSecond, durationSeconds }, 'load started')
      runOpenLoop(
        () => generator.next(),
        async (purchase) => {
          status.sent++
          if ((await options.post(purchase)) === 202) status.accepted++
        },
        {
          ratePerSecond,
          durationMs: durationSeconds * 1000,
          maxInFlight,
          signal: current.stop.signal,
        },
      )
        .then((stats) => logger.info({ ...stats }, 'load ended'))
        .catch((error: unknown) => logger.error({ err: error }, 'load failed'))
        .finally(() => {
          status.running = false
          status.endsAt = null
        })
      return { ...status }
    },
    stopLoad,
    load: () => (load ? { ...load.status } : idle()),
    freshness() {
      const sorted = freshnessSamples.toSorted((a, b) => a - b)
      return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), samples: sorted.length }
    },
    apiP99() {
      const since = Date.now() - latencyWindowMs
      while ((latencies[0]?.at ?? since) < since) latencies.shift()
      return quantile(
        latencies.map((l) => l.seconds).toSorted((a, b) => a - b),
        0.99,
      )
    },
    recordPurchaseLatency(seconds) {
      latencies.push({ at: Date.now(), seconds })
    },
    stop() {
      clearInterval(canaryTimer)
      stopLoad()
    },
  }
}
