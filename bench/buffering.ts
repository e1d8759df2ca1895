/**
 * (l) Buffering: purchases offered to the topic faster than the consumer stores them, for a while,
 * then no more; the group's lag is sampled every second as it grows and as it drains.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { PurchaseEvent } from '../handlers/purchase.ts'
import type { Admin, Producer } from '../runtime/kafka/client.ts'
import { runOpenLoop } from '../runtime/load/open-loop.ts'
import { createPurchaseGenerator } from '../runtime/load/purchases.ts'
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
  const sampling = (async () => {
    let loadEndedAt: number | undefined
    for (;;) {
      const lag = await lagNow()
      const now = performance.now()
      samples.push({ at: Math.round((now - began) / 100) / 10, lag })
      if (!loading) {
        loadEndedAt ??= now
        if (lag === 0) return (now - loadEndedAt) / 1000
        if (now - loadEndedAt > options.drainBoundMs) return undefined
        if (samples.length % 5 === 0) say(`  draining: lag ${lag}`)
      }
      await sleep(1_000)
    }
  })()
  await runOpenLoop(nextBatch, send, {
    ratePerSecond: ratePerSecond / eventsPerSend,
    durationMs: seconds * 1000,
    maxInFlight: 20,
    onProgress: () => say(`  ${sent} events sent, lag ${samples.at(-1)?.lag ?? 0}`),
  }).finally(() => {
    loading = false
  })
  const loadEnd = performance.now()
  const drainSeconds = await sampling
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
