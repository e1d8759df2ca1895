/**
 * The `publish` port: gathers concurrent events into one produce request and resolves each
 * caller when its request is acknowledged. One awaited produce per HTTP request is 5-10x slower.
 */
import { UnavailableError } from '../../handlers/errors.ts'
import type { Publish } from '../../handlers/ports.ts'
import { lazy } from '../lazy.ts'
import type { AppLogger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import type { OutgoingMessage, Producer } from './client.ts'
import { kafkaName } from './topics.ts'

export interface PublisherOptions {
  /** KAFKA_NAME_PREFIX, put before each declared topic name. */
  namePrefix: string
  /** How long the first event of a batch waits for company. */
  lingerMs: number
  maxBatch: number
  /** A caller waits at most this long for the acknowledgement. */
  timeoutMs: number
  /** After a failed produce, callers are refused at once for this long. */
  retryAfterSeconds: number
  /** Events waiting beyond this are refused: backpressure instead of unbounded memory. */
  maxPending: number
}

interface PendingEvent {
  topic: string
  message: OutgoingMessage
  settle(error?: Error): void
}

export interface Publisher {
  publish: Publish
  /** Sends what is pending, waits for it, disconnects; used at shutdown. */
  close(): Promise<void>
}

export function createPublisher(
  connect: () => Promise<Producer>,
  options: PublisherOptions,
  metrics: Metrics,
  logger: AppLogger,
): Publisher {
  let getProducer = lazy(connect)
  let connected = false
  const pending: PendingEvent[] = []
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  let refuseUntil = 0

  const unavailable = (message: string, cause?: unknown) =>
    new UnavailableError('kafka', message, { cause })

  async function send(batch: PendingEvent[]): Promise<void> {
    const byTopic = new Map<string, OutgoingMessage[]>()
    for (const event of batch) {
      const messages = byTopic.get(event.topic)
      if (messages) messages.push(event.message)
      else byTopic.set(event.topic, [event.message])
    }
    metrics.publishBatchSize.observe(batch.length)
    let producer: Producer | undefined
    try {
      connected = true
      producer = await getProducer()
      await producer.send([...byTopic].map(([topic, messages]) => ({ topic, messages })))
      for (const event of batch) event.settle()
      for (const [topic, messages] of byTopic) {
        metrics.published.inc({ topic, outcome: 'acknowledged' }, messages.length)
      }
    } catch (error) {
      refuseUntil = Date.now() + options.retryAfterSeconds * 1000
      logger.warn({ err: error, events: batch.length }, 'produce failed')
      // A failed send may have been written. An idempotent producer that carries on reuses its
      // sequence numbers, and the broker may take the next batch for a duplicate of it and drop
      // it while acknowledging it (seen with kafkajs): the next batch goes through a new one.
      if (producer) {
        getProducer = lazy(connect)
        connected = false
        void producer.disconnect().catch(() => {})
      }
      for (const event of batch)
        event.settle(unavailable('Kafka did not acknowledge the event', error))
      for (const [topic, messages] of byTopic) {
        metrics.published.inc({ topic, outcome: 'failed' }, messages.length)
      }
    }
  }

  /** One produce request at a time; events arriving meanwhile form the next batch. */
  function drain(): void {
    clearTimeout(timer)
    timer = undefined
    if (inFlight || pending.length === 0) return
    const batch = pending.splice(0, options.maxBatch)
    inFlight = send(batch).finally(() => {
      inFlight = undefined
      if (pending.length >= options.maxBatch) drain()
      else if (pending.length > 0) timer ??= setTimeout(drain, options.lingerMs)
    })
  }

  const publish: Publish = (topicName, event) => {
    if (Date.now() < refuseUntil) {
      return Promise.reject(unavailable('Kafka is unreachable; retry later'))
    }
    if (pending.length >= options.maxPending) {
      return Promise.reject(unavailable('Too many events waiting for Kafka; retry later'))
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const deadline = AbortSignal.timeout(options.timeoutMs)
    const timedOut = () => {
      // A broker this slow is as good as down for the callers behind this one.
      refuseUntil = Date.now() + options.retryAfterSeconds * 1000
      reject(unavailable(`Kafka did not acknowledge within ${options.timeoutMs} ms`))
    }
    deadline.addEventListener('abort', timedOut, { once: true })
    pending.push({
      topic: kafkaName(options.namePrefix, topicName),
      message: {
        key: event.key,
        value: event.verbatim ? String(event.value) : JSON.stringify(event.value),
        ...(event.headers && { headers: event.headers }),
      },
      settle: (error) => {
        deadline.removeEventListener('abort', timedOut)
        if (error) reject(error)
        else resolve()
      },
    })
    if (pending.length >= options.maxBatch) drain()
    else timer ??= setTimeout(drain, options.lingerMs)
    return promise
  }

  return {
    publish,
    async close() {
      while (pending.length > 0 || inFlight) {
        drain()
        await inFlight
      }
      if (connected) await (await getProducer().catch(() => undefined))?.disconnect()
    },
  }
}
