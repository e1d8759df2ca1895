/**
 * The `publish` port: gathers concurrent events into one produce request and resolves each
 * caller when its request is acknowledged. One awaited produce per HTTP request is 5-10x slower.
 */
import pTimeout from 'p-timeout'
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
  /** Its caller heard 503 at the deadline: not sent from then on. */
  abandoned: boolean
  settle(error?: Error): void
}

/** The batch's messages per topic, in the order they came. */
function byTopic(batch: PendingEvent[]): Map<string, OutgoingMessage[]> {
  const topics = new Map<string, OutgoingMessage[]>()
  for (const event of batch) {
    const messages = topics.get(event.topic)
    if (messages) messages.push(event.message)
    else topics.set(event.topic, [event.message])
  }
  return topics
}

export interface Publisher {
  publish: Publish<string>
  /**
   * Why Kafka is not taking events right now (the last send failed, recently, and none has
   * succeeded since), for /readyz; undefined while it is.
   */
  refusal(): string | undefined
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
  /** The producer the last send used (or is connecting): close() disconnects it, never a new one. */
  let lastConnecting: Promise<Producer> | undefined
  const pending: PendingEvent[] = []
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<void> | undefined
  let refuseUntil = 0
  let lastFailure: { at: number; reason: string } | undefined

  const unavailable = (message: string, cause?: unknown) =>
    new UnavailableError('kafka', message, { cause })

  async function send(batch: PendingEvent[]): Promise<void> {
    metrics.publishBatchSize.observe(batch.length)
    const current = getProducer
    const connecting = current()
    let sent: PendingEvent[] = []
    const overdue = new AbortController()
    lastConnecting = connecting
    try {
      // The adapter's timeouts fit in timeoutMs; whatever it does, a send holding up every batch
      // behind it ends here, and its producer is retired like any failed one. A slow connect
      // fails only this batch: the next one waits for the same connection (starting anew each
      // time, a slow cluster would never be connected to).
      await pTimeout(
        (async () => {
          const producer = await connecting
          // Callers that heard 503 meanwhile: their events stay unsent.
          sent = overdue.signal.aborted ? [] : batch.filter((event) => !event.abandoned)
          if (sent.length === 0) return
          await producer.send([...byTopic(sent)].map(([topic, messages]) => ({ topic, messages })))
        })(),
        { milliseconds: options.timeoutMs, message: `no answer within ${options.timeoutMs} ms` },
      )
      lastFailure = undefined
      for (const event of batch) event.settle()
      for (const [topic, messages] of byTopic(sent)) {
        metrics.published.inc({ topic, outcome: 'acknowledged' }, messages.length)
      }
    } catch (error) {
      refuseUntil = Date.now() + options.retryAfterSeconds * 1000
      lastFailure = { at: Date.now(), reason: `produce failed: ${(error as Error).message}` }
      logger.warn({ err: error, events: batch.length }, 'produce failed')
      // A failed send may have been written. An idempotent producer that carries on reuses its
      // sequence numbers, and the broker may take the next batch for a duplicate of it and drop
      // it while acknowledging it (seen with kafkajs): the next batch goes through a new one.
      if (sent.length > 0 && getProducer === current) {
        getProducer = lazy(connect)
        lastConnecting = undefined
        void connecting.then(
          (producer) => producer.disconnect(),
          () => {},
        )
      }
      for (const event of batch)
        event.settle(unavailable('Kafka did not acknowledge the event', error))
      for (const [topic, messages] of byTopic(batch)) {
        metrics.published.inc({ topic, outcome: 'failed' }, messages.length)
      }
    } finally {
      overdue.abort()
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

  const publish: Publish<string> = (topicName, event) => {
    if (Date.now() < refuseUntil) {
      return Promise.reject(unavailable('Kafka is unreachable; retry later'))
    }
    if (pending.length >= options.maxPending) {
      return Promise.reject(unavailable('Too many events waiting for Kafka; retry later'))
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>()
    const deadline = AbortSignal.timeout(options.timeoutMs)
    const pendingEvent: PendingEvent = {
      topic: kafkaName(options.namePrefix, topicName),
      message: {
        key: event.key,
        value: event.verbatim ? String(event.value) : JSON.stringify(event.value),
        ...(event.headers && { headers: event.headers }),
      },
      abandoned: false,
      settle: (error) => {
        deadline.removeEventListener('abort', timedOut)
        if (error) reject(error)
        else resolve()
      },
    }
    const timedOut = () => {
      // A broker this slow is as good as down for the callers behind this one.
      refuseUntil = Date.now() + options.retryAfterSeconds * 1000
      lastFailure = { at: Date.now(), reason: `no acknowledgement within ${options.timeoutMs} ms` }
      // Its caller hears 503: an event not sent yet never will be (one in flight may be written).
      pendingEvent.abandoned = true
      const waiting = pending.indexOf(pendingEvent)
      if (waiting >= 0) pending.splice(waiting, 1)
      reject(unavailable(`Kafka did not acknowledge within ${options.timeoutMs} ms`))
    }
    deadline.addEventListener('abort', timedOut, { once: true })
    pending.push(pendingEvent)
    if (pending.length >= options.maxBatch) drain()
    else timer ??= setTimeout(drain, options.lingerMs)
    return promise
  }

  return {
    publish,
    refusal() {
      // Forgotten after a while: a pod nobody sends to would otherwise stay unready for good.
      const recent = lastFailure && Date.now() - lastFailure.at < 2 * options.timeoutMs
      return recent ? lastFailure?.reason : undefined
    },
    async close() {
      while (pending.length > 0 || inFlight) {
        drain()
        await inFlight
      }
      await (await lastConnecting?.catch(() => undefined))?.disconnect()
    },
  }
}
