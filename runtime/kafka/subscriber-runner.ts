/**
 * Runs one subscriber on its own consumer group, by the policy its definition declares: one
 * partition batch at a time, cut into bulk-sized chunks; each chunk is parsed, handled, its
 * failures dead-lettered, and only then committed. A store outage is waited out (nothing
 * committed, nothing lost); a poison message goes to the subscriber's dead-letter topic (or is
 * logged and skipped when it has none) so its partition moves on. A subscriber delivered to
 * `every-process` reads in a group of this process's own and commits nothing: it skips what was
 * sent before the runner started, and what it handled already when a new client reads the topic
 * from its start again.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { z } from 'zod'
import type { SubscriberDefinition } from '../../handlers/define.ts'
import { UnavailableError } from '../../handlers/errors.ts'
import { chunkBy } from '../chunks.ts'
import { allTopics } from '../load-handlers.ts'
import type { AppLogger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { backoffDelay, retry } from '../retry.ts'
import {
  type Consumer,
  type IncomingMessage,
  type KafkaClient,
  type OutgoingMessage,
  type PartitionBatch,
  type Producer,
  SendRefusedError,
} from './client.ts'
import { cutIntoSends, fitLetter, maxBatchBytes } from './dead-letters.ts'
import { kafkaName, processGroup } from './topics.ts'

export interface RunnerOptions {
  /** KAFKA_NAME_PREFIX, put before the subscriber's topics and group. */
  namePrefix: string
  /** Partitions handled at the same time. */
  concurrency: number
  maxDocuments: number
  maxBytes: number
  /** Restarts of a client that gave up, in a row without a batch, before the runner is down. */
  maxRestarts: number
}

interface Rejection {
  message: IncomingMessage
  reason: string
  attempts: number
}

/** A rejection by position in the events handed to the subscriber. */
type HandlerRejection = Omit<Rejection, 'message'> & { index: number }

export interface SubscriberRunner {
  /** The Kafka names this runner reads: its topic and its group. */
  readonly topic: string
  readonly group: string
  /**
   * Connects its consumer, retrying until `signal` aborts, then starts consuming; the
   * dead-letter producer connects with the first dead letter. Resolves once the consumer has
   * joined its group.
   */
  start(signal: AbortSignal): Promise<void>
  pause(): void
  resume(): void
  readonly paused: boolean
  /**
   * Why the runner is down for good: its client gave up more than `maxRestarts` times in a row
   * without handing over a batch in between. Undefined while it consumes (or restarts).
   */
  readonly down: Error | undefined
  stop(): Promise<void>
}

/** Cuts a partition batch into chunks of at most `maxDocuments` messages and `maxBytes` bytes. */
export function chunkMessages(
  messages: IncomingMessage[],
  maxDocuments: number,
  maxBytes: number,
): IncomingMessage[][] {
  return chunkBy(messages, {
    maxItems: maxDocuments,
    maxBytes,
    sizeOf: (message) => message.value?.length ?? 0,
  })
}

export function createSubscriberRunner<P>(
  subscriber: SubscriberDefinition<z.ZodType, P>,
  client: KafkaClient,
  ports: P,
  options: RunnerOptions,
  metrics: Metrics,
  logger: AppLogger,
): SubscriberRunner {
  const everyProcess = subscriber.delivery === 'every-process'
  const topic = kafkaName(options.namePrefix, subscriber.topic)
  const declaredGroup = kafkaName(options.namePrefix, subscriber.group)
  const group = everyProcess ? processGroup(`${declaredGroup}.`) : declaredGroup
  const deadLetterTopic =
    subscriber.deadLetter && kafkaName(options.namePrefix, subscriber.deadLetter)
  const startedAt = Date.now()
  /** Per partition, the last offset handled (every-process delivery commits nothing to Kafka). */
  const handledThrough = new Map<number, bigint>()
  let stopped: Promise<void> | undefined
  const labels = { topic, group }
  const log = logger.child(labels)
  /** Outages and failed dead-letter writes are waited out for as long as they last. */
  const untilDone = { ...subscriber.retry, attempts: Infinity }
  let consumer: Consumer | undefined
  const stopping = new AbortController()
  let down: Error | undefined
  /** Restarts since the last batch handed over: a client that cannot stay up counts them. */
  let restartsInARow = 0
  /** The dead-letter producer, connected on first use and replaced after any failed send. */
  let deadLetters: Promise<Producer> | undefined
  let paused = false

  /** Logs why an attempt is retried and how long it waits, and counts it. */
  const onRetry =
    (reason: string, what: string) => (error: unknown, attempt: number, delayMs: number) => {
      metrics.consumerBackoffs.inc({ ...labels, reason })
      log.warn({ err: error, attempt, delayMs: Math.round(delayMs) }, `${what}, backing off`)
    }

  function parse(message: IncomingMessage): { event: unknown } | { reason: string } {
    let json: unknown
    try {
      json = JSON.parse(message.value?.toString('utf8') ?? '')
    } catch {
      return { reason: 'value is not JSON' }
    }
    const result = subscriber.schema.safeParse(json)
    if (result.success) return { event: result.data }
    const fields = result.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    )
    return { reason: `schema: ${fields.join('; ')}` }
  }

  /**
   * Handles events: an unavailable dependency is waited out; another error is retried up to
   * `retry.attempts` tries, then the events are handled one at a time so a single bad one is
   * rejected alone.
   */
  async function handle(events: unknown[], signal: AbortSignal): Promise<HandlerRejection[]> {
    let attempts = 0
    try {
      const { rejected } = await retry(
        (attempt) => {
          attempts = attempt
          return retry(() => subscriber.handle(events, ports), {
            policy: untilDone,
            signal,
            retryIf: (error) => error instanceof UnavailableError,
            onRetry: onRetry('unavailable', 'dependency unavailable'),
          })
        },
        {
          policy: subscriber.retry,
          signal,
          onRetry: onRetry('error', `subscriber failed on ${events.length} events`),
        },
      )
      return rejected.map((rejection) => ({ ...rejection, attempts }))
    } catch (error) {
      if (signal.aborted) throw error
      log.error({ err: error, attempts, events: events.length }, 'subscriber failed')
      if (events.length === 1) return [{ index: 0, reason: `handler: ${String(error)}`, attempts }]
      return isolate(events, signal)
    }
  }

  /** Handles each event on its own, so only the ones that fail alone are rejected. */
  async function isolate(events: unknown[], signal: AbortSignal): Promise<HandlerRejection[]> {
    const rejections: HandlerRejection[] = []
    for (const [index, event] of events.entries()) {
      for (const rejection of await handle([event], signal)) {
        rejections.push({ ...rejection, index })
      }
    }
    return rejections
  }

  /**
   * One send of dead letters through the current producer (connected on first use). A failed
   * send may have been written: an idempotent producer that carries on reuses its sequence
   * numbers, and the broker may take the next send for a duplicate and drop it while
   * acknowledging it (seen with kafkajs), so a failure retires the producer.
   */
  async function sendOnce(deadLetterTopic: string, messages: OutgoingMessage[]): Promise<void> {
    deadLetters ??= client.producer()
    const connecting = deadLetters
    let producer: Producer | undefined
    try {
      producer = await connecting
      await producer.send([{ topic: deadLetterTopic, messages }])
    } catch (error) {
      if (deadLetters === connecting) deadLetters = undefined
      void producer?.disconnect().catch(() => {})
      throw error
    }
  }

  /**
   * Writes each rejection to the dead-letter topic, in sends its size limit takes; each send is
   * retried until it is written, the partition waiting meanwhile: a poison message is never
   * dropped. A refusal no retry can cure is logged as such at every attempt.
   */
  async function sendToDeadLetters(rejections: Rejection[], batch: PartitionBatch) {
    if (rejections.length === 0) return
    if (!deadLetterTopic || !subscriber.deadLetter) {
      metrics.consumed.inc({ ...labels, outcome: 'dropped' }, rejections.length)
      for (const { message, reason } of rejections) {
        log.error(
          { partition: batch.partition, offset: String(message.offset), reason },
          'message skipped: this subscriber has no dead-letter topic',
        )
      }
      return
    }
    const declared = (await allTopics())[subscriber.deadLetter]
    if (!declared) throw new Error(`${subscriber.deadLetter} is not a declared topic`)
    const limitBytes = maxBatchBytes(declared)
    const failedAt = new Date().toISOString()
    const letters = rejections.map(({ message, reason, attempts }) =>
      fitLetter(
        {
          key: message.key?.toString('utf8') ?? null,
          value: message.value ?? '',
          headers: {
            ...message.headers,
            'dead-letter.reason': reason,
            'dead-letter.attempts': String(attempts),
            'dead-letter.failed-at': failedAt,
            'dead-letter.origin.topic': topic,
            'dead-letter.origin.partition': String(batch.partition),
            'dead-letter.origin.offset': String(message.offset),
            'dead-letter.origin.timestamp': String(message.timestamp),
          },
        },
        limitBytes,
      ),
    )
    for (const messages of cutIntoSends(letters, limitBytes)) {
      await retry(() => sendOnce(deadLetterTopic, messages), {
        policy: untilDone,
        signal: batch.signal,
        onRetry: (error, attempt, delayMs) => {
          metrics.consumerBackoffs.inc({ ...labels, reason: 'dead-letter' })
          const where = {
            err: error,
            attempt,
            delayMs: Math.round(delayMs),
            partition: batch.partition,
            letters: messages.length,
          }
          if (error instanceof SendRefusedError) {
            log.error(
              { ...where, refusal: error.refusal },
              `dead-letter produce refused (${error.refusal}): no retry helps until an operator acts; the partition waits`,
            )
          } else log.warn(where, 'dead-letter produce failed, backing off')
        },
      })
    }
    metrics.consumed.inc({ ...labels, outcome: 'dead-lettered' }, rejections.length)
    for (const { message, reason } of rejections) {
      log.warn(
        { partition: batch.partition, offset: String(message.offset), reason },
        'message dead-lettered',
      )
    }
  }

  async function processChunk(chunk: IncomingMessage[], batch: PartitionBatch) {
    const stopTimer = metrics.bulkDuration.startTimer(labels)
    const rejections: Rejection[] = []
    const valid: { message: IncomingMessage; event: unknown }[] = []
    for (const message of chunk) {
      const parsed = parse(message)
      if ('event' in parsed) valid.push({ message, event: parsed.event })
      else rejections.push({ message, reason: parsed.reason, attempts: 1 })
    }
    const handled =
      valid.length > 0
        ? await handle(
            valid.map((v) => v.event),
            batch.signal,
          )
        : []
    for (const { index, reason, attempts } of handled) {
      const entry = valid[index]
      if (entry) rejections.push({ message: entry.message, reason, attempts })
    }
    await sendToDeadLetters(rejections, batch)
    metrics.consumed.inc({ ...labels, outcome: 'stored' }, valid.length - handled.length)
    stopTimer()
  }

  /**
   * Every-process delivery: the messages sent since the runner started that it has not handled
   * yet; its commits are kept in memory (a group of its own is never joined again).
   */
  function unseen(batch: PartitionBatch): PartitionBatch {
    const through = handledThrough.get(batch.partition) ?? -1n
    return {
      ...batch,
      messages: batch.messages.filter(
        (message) => message.offset > through && message.timestamp >= startedAt,
      ),
      commitThrough: async (offset) => {
        handledThrough.set(batch.partition, offset)
      },
    }
  }

  async function consume(handed: PartitionBatch): Promise<void> {
    restartsInARow = 0
    const batch = everyProcess ? unseen(handed) : handed
    // Stopping ends the work after the chunk in hand (and cuts an outage's wait short); a lost
    // partition also forbids committing that chunk, which its new owner reads again.
    const signal = AbortSignal.any([batch.signal, stopping.signal])
    try {
      for (const chunk of chunkMessages(batch.messages, options.maxDocuments, options.maxBytes)) {
        if (signal.aborted) return
        await processChunk(chunk, { ...batch, signal })
        const last = chunk.at(-1)
        if (batch.signal.aborted || !last) return
        await batch.commitThrough(last.offset)
      }
    } catch (error) {
      if (!signal.aborted) throw error
    }
  }

  return {
    topic,
    group,
    async start(signal) {
      const connecting = { policy: untilDone, signal }
      const join = async (): Promise<void> => {
        const joined = await retry(
          () => client.consumer({ group, topic, concurrency: options.concurrency }),
          { ...connecting, onRetry: onRetry('connect', 'Kafka consumer connection failed') },
        )
        consumer = joined
        let replaced = false
        // The client gave up (a non-retriable error, at the start or later): a new one, after a
        // back-off, unless it keeps giving up before any batch, which liveness then reports.
        const replace = async (error: Error) => {
          if (replaced || signal.aborted) return
          replaced = true
          restartsInARow++
          metrics.consumerRestarts.inc(labels)
          await joined.stop().catch(() => {})
          if (restartsInARow > options.maxRestarts) {
            down = error
            log.error({ err: error, restarts: restartsInARow - 1 }, 'consumer down for good')
            return
          }
          const delayMs = backoffDelay(subscriber.retry, restartsInARow)
          log.error(
            { err: error, restart: restartsInARow, delayMs },
            'consumer gave up, restarting',
          )
          await sleep(delayMs, undefined, { signal }).catch(() => {})
          if (!signal.aborted) await join().catch(() => {})
        }
        joined.crashed.then(replace)
        try {
          await joined.start(consume)
        } catch (error) {
          return replace(error instanceof Error ? error : new Error(String(error)))
        }
        if (paused) joined.pause()
        log.info('consuming')
      }
      await join()
    },
    pause() {
      paused = true
      consumer?.pause()
      metrics.consumerPaused.set(labels, 1)
    },
    resume() {
      paused = false
      consumer?.resume()
      metrics.consumerPaused.set(labels, 0)
    },
    get paused() {
      return paused
    },
    get down() {
      return down
    },
    stop() {
      stopping.abort()
      stopped ??= (async () => {
        await consumer?.stop()
        await (await deadLetters?.catch(() => undefined))?.disconnect()
      })()
      return stopped
    },
  }
}
