import { afterEach, describe, expect, it, vi } from 'vitest'
import { PurchaseInput } from '../../handlers/purchase.ts'
import { runOpenLoop } from '../../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../../runtime/load/purchases.ts'

describe('the purchase generator', () => {
  it('makes purchases the API accepts, the same ones for the same seed', () => {
    const first = createPurchaseGenerator({ seed: 7, shops: 50 })
    const again = createPurchaseGenerator({ seed: 7, shops: 50 })
    const other = createPurchaseGenerator({ seed: 8, shops: 50 })
    const purchases = Array.from({ length: 500 }, () => first.next())
    for (const purchase of purchases) expect(PurchaseInput.safeParse(purchase).success).toBe(true)
    const ids = (list: typeof purchases) => list.map((p) => [p.shop_id, p.purchase_id, p.scoops])
    expect(ids(Array.from({ length: 500 }, () => again.next()))).toEqual(ids(purchases))
    expect(other.next().purchase_id).not.toBe(purchases[0]?.purchase_id)
    expect(new Set(purchases.map((p) => p.purchase_id)).size).toBe(500)
    expect(new Set(purchases.map((p) => p.shop_id)).size).toBeGreaterThan(40)
  })

  it('spreads a dataset over the days before now', () => {
    const now = new Date('2026-06-30T00:00:00Z')
    const generator = createPurchaseGenerator({ seed: 1, days: 90, now })
    const times = Array.from({ length: 2_000 }, () => Date.parse(generator.next().timestamp))
    expect(Math.max(...times)).toBeLessThan(now.getTime())
    expect(Math.min(...times)).toBeGreaterThanOrEqual(now.getTime() - 90 * 24 * 3600 * 1000)
    expect(Math.min(...times)).toBeLessThan(now.getTime() - 80 * 24 * 3600 * 1000)
  })
})

describe('open-loop load', () => {
  afterEach(() => vi.useRealTimers())

  it('starts sends on schedule and skips, not queues, those due while too many are in flight', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const waiting: (() => void)[] = []
    const send = () => new Promise<void>((resolve) => waiting.push(resolve))
    const running = runOpenLoop(() => 0, send, {
      ratePerSecond: 100,
      durationMs: 1_000,
      maxInFlight: 30,
    })
    await vi.advanceTimersByTimeAsync(500)
    expect(waiting).toHaveLength(30)
    for (const resolve of waiting.splice(0)) resolve()
    await vi.advanceTimersByTimeAsync(600)
    for (const resolve of waiting.splice(0)) resolve()
    const stats = await running
    expect(stats.offered).toBe(100)
    expect(stats.started + stats.skipped).toBe(100)
    expect(stats.skipped).toBeGreaterThan(0)
    expect(stats.settled).toBe(stats.started)
  })

  it('counts a rejected send as settled and stops early on abort', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] })
    const abort = new AbortController()
    const running = runOpenLoop(
      () => 0,
      () => Promise.reject(new Error('503')),
      {
        ratePerSecond: 1_000,
        durationMs: 60_000,
        maxInFlight: 10,
        signal: abort.signal,
      },
    )
    await vi.advanceTimersByTimeAsync(100)
    abort.abort()
    await vi.advanceTimersByTimeAsync(10)
    const stats = await running
    expect(stats.offered).toBeGreaterThan(50)
    expect(stats.offered).toBeLessThan(200)
    expect(stats.settled).toBe(stats.started)
  })
})
