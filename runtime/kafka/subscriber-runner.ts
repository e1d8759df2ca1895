/**
 * Runs a subscriber on a consumer group: one partition batch at a time, cut into bulk-sized
 * chunks; each chunk is parsed, handled, its failures dead-lettered, and only then committed.
 * A store outage is waited out (nothing committed, nothing lost); a poison message goes to the
 * dead-letter topic so its partition moves on.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type Ports, type SubscriberDefinition, UnavailableError } from '../../handlers/define.ts'
import type { AppLogger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import type { BatchContext, Consumer, IncomingMessage, Producer } from './broker.ts'

export interface RunnerOptions {
  topic: string
  deadLetterTopic: string
  maxDocuments: number
  maxBytes: number
  backoff: { initialMs: number; maxMs: number }
}

interface HandlerRejection {
  /** Position in the events handed to the subscriber. */
  index: number
  reason: string
  attempts: number
}

interface Rejection {
  message: IncomingMessage
  reason: string
  attempts: number
}

export interface SubscriberRunner {
  start(): Promise<void>
  pause(): void
  resume(): void
  readonly paused: boolean
  stop(): Promise<void>
}

class Stopping extends Error {}

/** Cuts a partition batch into chunks of at most `maxDocuments` messages and `maxBytes` bytes. */
export function chunkMessages(
  messages: IncomingMessage[],
  maxDocuments: number,
  maxBytes: number,
): IncomingMessage[][] {
  const chunks: IncomingMessage[][] = []
  let current: IncomingMessage[] = []
  let bytes = 0
  for (const message of messages) {
    const size = message.value?.length ?? 0
    if (current.length > 0 && (current.length >= maxDocuments || bytes + size > maxBytes)) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(message)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

export function createSubscriberRunner(
  subscriber: SubscriberDefinition,
  consumer: Consumer,
  deadLetters: Producer,
  ports: Ports,
  options: RunnerOptions,
  metrics: Metrics,
  logger: AppLogger,
): SubscriberRunner {
  const log = logger.child({ topic: options.topic })
  let paused = false

  /** Sleeps with exponential back-off while keeping the group membership alive. */
  async function backoff(attempt: number, context: BatchContext): Promise<void> {
    const delay = Math.min(options.backoff.maxMs, options.backoff.initialMs * 2 ** attempt)
    const until = Date.now() + delay * (0.5 + Math.random() / 2)
    while (Date.now() < until) {
      if (!context.isRunning()) throw new Stopping()
      await context.heartbeat()
      await sleep(Math.min(1_000, Math.max(0, until - Date.now())))
    }
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
   * Handles events, retrying unexpected errors `maxAttempts` times, then one event at a time so
   * a single bad event is rejected alone. Unavailable stores are retried for as long as it takes.
   */
  async function handle(events: unknown[], context: BatchContext): Promise<HandlerRejection[]> {
    let failures = 0
    let outages = 0
    for (;;) {
      try {
        const { rejected } = await subscriber.handle(events, ports)
        return rejected.map((rejection) => ({ ...rejection, attempts: failures + 1 }))
      } catch (error) {
        if (error instanceof UnavailableError) {
          metrics.consumerBackoffs.inc({ topic: options.topic, reason: 'unavailable' })
          log.warn(
            { err: error, dependency: error.dependency, outages },
            'dependency unavailable, backing off',
          )
          await backoff(outages++, context)
          continue
        }
        failures++
        metrics.consumerBackoffs.inc({ topic: options.topic, reason: 'error' })
        log.error({ err: error, attempt: failures, events: events.length }, 'subscriber failed')
        if (failures < subscriber.maxAttempts) {
          await backoff(failures, context)
          continue
        }
        if (events.length === 1) {
          return [{ index: 0, reason: `handler: ${String(error)}`, attempts: failures }]
        }
        return isolate(events, context)
      }
    }
  }

  /** Handles each event on its own, so only the ones that fail alone are rejected. */
  async function isolate(events: unknown[], context: BatchContext): Promise<HandlerRejection[]> {
    const rejections: HandlerRejection[] = []
    for (const [index, event] of events.entries()) {
      for (const rejection of await handle([event], context))
        rejections.push({ ...rejection, index })
    }
    return rejections
  }

  async function sendToDeadLetters(
    rejections: Rejection[],
    context: BatchContext,
    partition: number,
  ) {
    if (rejections.length === 0) return
    const failedAt = new Date().toISOString()
    const messages = rejections.map(({ message, reason, attempts }) => ({
      key: message.key?.toString('utf8') ?? null,
      value: message.value ?? '',
      headers: {
        ...message.headers,
        'dead-letter.reason': reason,
        'dead-letter.attempts': String(attempts),
        'dead-letter.failed-at': failedAt,
        'dead-letter.origin.topic': options.topic,
        'dead-letter.origin.partition': String(partition),
        'dead-letter.origin.offset': message.offset,
        'dead-letter.origin.timestamp': message.timestamp,
      },
    }))
    for (let attempt = 0; ; attempt++) {
      try {
        await deadLetters.send([{ topic: options.deadLetterTopic, messages }])
        break
      } catch (error) {
        log.warn({ err: error, attempt }, 'dead-letter produce failed, backing off')
        await backoff(attempt, context)
      }
    }
    metrics.consumed.inc({ topic: options.topic, outcome: 'dead-lettered' }, rejections.length)
    for (const { message, reason } of rejections) {
      log.warn({ partition, offset: message.offset, reason }, 'message dead-lettered')
    }
  }

  async function processChunk(chunk: IncomingMessage[], partition: number, context: BatchContext) {
    const stopTimer = metrics.bulkDuration.startTimer({ topic: options.topic })
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
            context,
          )
        : []
    for (const { index, reason, attempts } of handled) {
      const entry = valid[index]
      if (entry) rejections.push({ message: entry.message, reason, attempts })
    }
    await sendToDeadLetters(rejections, context, partition)
    metrics.consumed.inc({ topic: options.topic, outcome: 'stored' }, valid.length - handled.length)
    stopTimer()
  }

  return {
    async start() {
      await consumer.run(options.topic, async ({ partition, messages }, context) => {
        try {
          for (const chunk of chunkMessages(messages, options.maxDocuments, options.maxBytes)) {
            if (!context.isRunning()) return
            await processChunk(chunk, partition, context)
            const last = chunk.at(-1)
            if (last) await context.commit(String(BigInt(last.offset) + 1n))
            await context.heartbeat()
          }
        } catch (error) {
          // Stopping mid-batch: the uncommitted rest is read again by whoever owns the partition next.
          if (!(error instanceof Stopping)) throw error
        }
      })
    },
    pause() {
      paused = true
      consumer.pause(options.topic)
      metrics.consumerPaused.set({ topic: options.topic }, 1)
    },
    resume() {
      paused = false
      consumer.resume(options.topic)
      metrics.consumerPaused.set({ topic: options.topic }, 0)
    },
    get paused() {
      return paused
    },
    stop: () => consumer.stop(),
  }
}
