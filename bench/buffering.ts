/**
 * buffering: purchases offered to the topic faster than the consumer stores them, for a while,
 * then no more; the group's lag is sampled every second as it grows and as it drains.
 */
import type { PurchaseEvent } from '../handlers/purchase.ts'
import type { Admin, Producer } from '../runtime/kafka/client.ts'
import { runOpenLoop } from '../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
import { poll } from '../runtime/wait.ts'
import type { Say } from './measure.ts'

export interface LagSample {
  /** Seconds since the load began. */
  at: number
  lag: number
}

export interface BufferingResult {
  offeredPerSecond: number
  loadSeconds: number
  sent: number
  samples: LagSample[]
  peakLag: number
  /** From the end of the load to lag 0; undefined when the bound came first. */
  drainSeconds?: number
  /** Events stored per second while draining (the peak lag over the drain time). */
  drainPerSecond?: number
}

// Sent in batches, as the API's publisher sends: one open-loop send is one batch.
const eventsPerSend = 100

export async function measureBuffering(options: {
  producer: Producer
  admin: Admin
  topic: string
  group: string
  ratePerSecond: number
  seconds: number
  seed: number
  drainBoundMs: number
  say: Say
}): Promise<BufferingResult> {
  const { producer, admin, topic, group, ratePerSecond, seconds, say } = options
  const purchases = createPurchaseGenerator({ seed: options.seed })
  const nextBatch = (): PurchaseEvent[] =>
    Array.from({ length: eventsPerSend }, () => ({
      ...purchases.next(),
      received_at: new Date().toISOString(),
    }))
  let sent = 0
  const send = async (events: PurchaseEvent[]) => {
    await producer.send([
      {
        topic,
        messages: events.map((event) => ({ key: event.shop_id, value: JSON.stringify(event) })),
      },
    ])
    sent += events.length
  }
  const samples: LagSample[] = []
  const began = performance.now()
  const lagNow = async () =>
    (await admin.lag(group, topic)).reduce((sum, partition) => sum + partition.lag, 0)
  let loading = true
  let loadEndedAt: number | undefined
  // Every second: the lag while the load runs, then until it is 0 or the drain's bound passed.
  const sampling = poll(
    async () => {
      const lag = await lagNow()
      const now = performance.now()
      samples.push({ at: Math.round((now - began) / 100) / 10, lag })
      if (loading) return undefined
      loadEndedAt ??= now
      if (lag === 0) return { drainSeconds: (now - loadEndedAt) / 1000 }
      if (now - loadEndedAt > options.drainBoundMs) return { drainSeconds: undefined }
      if (samples.length % 5 === 0) say(`  draining: lag ${lag}`)
      return undefined
    },
    { intervalMs: 1_000, signal: AbortSignal.timeout(seconds * 1000 + options.drainBoundMs * 2) },
  )
  await runOpenLoop(nextBatch, send, {
    ratePerSecond: ratePerSecond / eventsPerSend,
    durationMs: seconds * 1000,
    maxInFlight: 20,
    onProgress: () => say(`  ${sent} events sent, lag ${samples.at(-1)?.lag ?? 0}`),
  }).finally(() => {
    loading = false
  })
  const loadEnd = performance.now()
  const { drainSeconds } = await sampling
  const peakLag = Math.max(...samples.map((sample) => sample.lag))
  return {
    offeredPerSecond: ratePerSecond,
    loadSeconds: (loadEnd - began) / 1000,
    sent,
    samples,
    peakLag,
    drainSeconds,
    drainPerSecond: drainSeconds ? peakLag / drainSeconds : undefined,
  }
}
