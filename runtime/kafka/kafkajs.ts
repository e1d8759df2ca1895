/** The Kafka port on kafkajs. Only index.ts imports this file; only this file imports kafkajs. */
import { readFileSync } from 'node:fs'
import {
  AssignerProtocol,
  Kafka,
  type KafkaConfig,
  type Consumer as KafkaJsConsumer,
  type LogEntry,
  logLevel,
  Partitioners,
} from 'kafkajs'
import type { KafkaSettings } from '../config.ts'
import type { AppLogger } from '../logger.ts'
import type {
  Admin,
  Consumer,
  ConsumerOptions,
  IncomingMessage,
  KafkaClient,
  Producer,
  ProducerOptions,
} from './client.ts'
import { refusalsByKafkaError, SendRefusedError, sendBudget } from './client.ts'

/** kafkajs sends a heartbeat at most this often however often it is asked; asking is cheap. */
const heartbeatCheckMs = 1_000

// Short retries: callers decide what an outage means (503 for the API, back-off for consumers).
const clientRetry = { initialRetryTime: 200, maxRetryTime: 2_000, retries: 5 }

function clientConfig(config: KafkaSettings, logger: AppLogger): KafkaConfig {
  const ssl = config.KAFKA_SSL
    ? config.KAFKA_CA_FILE
      ? { ca: [readFileSync(config.KAFKA_CA_FILE, 'utf8')] }
      : true
    : false
  const sasl =
    config.KAFKA_SASL_MECHANISM === 'scram-sha-512'
      ? {
          mechanism: 'scram-sha-512' as const,
          username: config.KAFKA_USERNAME ?? '',
          password: config.KAFKA_PASSWORD ?? '',
        }
      : undefined
  const kafkaLogger = logger.child({ component: 'kafkajs' })
  return {
    clientId: config.KAFKA_CLIENT_ID,
    brokers: config.KAFKA_BROKERS,
    ssl,
    ...(sasl && { sasl }),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: clientRetry,
    logLevel: logLevel.WARN,
    logCreator: () => kafkajsLog(kafkaLogger),
  }
}

/**
 * A broker's answer that every start passes through and kafkajs retries by itself: right after a
 * broker starts, its group coordinator loads __consumer_offsets and answers this until it is done.
 * Should the retries give up, the caller's own failure is logged at error level.
 */
const expectedWhileStarting = "The coordinator is loading and hence can't process requests"

/** kafkajs's log entries on the app's logger: errors at error level, but for the expected ones. */
export function kafkajsLog(
  logger: Pick<AppLogger, 'error' | 'warn' | 'debug'>,
): (entry: LogEntry) => void {
  return ({ level, log }) => {
    const { message, ...extra } = log
    // Bounded retries are deliberate: callers get a fast 503 and the event ids make
    // redelivery harmless, so kafkajs's exactly-once warning does not apply here.
    if (message.startsWith('Limiting retries for the idempotent producer')) return
    if (String(extra.error ?? '').startsWith(expectedWhileStarting)) logger.debug(extra, message)
    else if (level <= logLevel.ERROR) logger.error(extra, message)
    else logger.warn(extra, message)
  }
}

/** The refusal somewhere in kafkajs's chain of causes (it wraps a broker's answer in retries). */
function asRefusal(error: unknown): SendRefusedError | undefined {
  for (let link = error; link instanceof Error; link = link.cause) {
    const refusal = refusalsByKafkaError[(link as { type?: string }).type ?? '']
    if (refusal) return new SendRefusedError(refusal, error)
  }
  return undefined
}

function toIncoming(message: {
  key: Buffer | null
  value: Buffer | null
  offset: string
  timestamp: string
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>
}): IncomingMessage {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = String(Array.isArray(value) ? value[0] : value)
  }
  return {
    key: message.key,
    value: message.value,
    offset: BigInt(message.offset),
    timestamp: Number(message.timestamp),
    headers,
  }
}

function wrapConsumer(
  consumer: KafkaJsConsumer,
  { topic, concurrency }: ConsumerOptions,
): Consumer {
  const { promise: crashed, resolve: crash } = Promise.withResolvers<Error>()
  let stopping = false
  const inFlight = new Set<Promise<void>>()
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    // kafkajs restarts itself after a retriable error; otherwise it has stopped for good.
    if (!payload.restart) crash(payload.error)
  })
  return {
    async start(handle) {
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        // A batch whose handler resolved is done for this session, committed or not (as the
        // port says); one whose handler threw is fetched again.
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: concurrency,
        eachBatch: async ({ batch, heartbeat, isStale, resolveOffset }) => {
          // Stopping: start nothing new; what is not committed is read again by the next owner.
          if (stopping) return
          const stop = new AbortController()
          let lost: unknown
          // The group drops a member that stops heartbeating, so beat while the batch is
          // handled, and abort the work once the partition is revoked. A stopping consumer lets
          // the batch finish: its commits land before it leaves the group.
          const beat = setInterval(() => {
            if (isStale()) stop.abort()
            else
              heartbeat().catch((error: unknown) => {
                lost = error
                stop.abort(error)
              })
          }, heartbeatCheckMs)
          const handled = handle({
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages.map(toIncoming),
            signal: stop.signal,
            async commitThrough(offset) {
              // The partition's new owner commits it now: a late commit here would overwrite
              // theirs (the broker still takes it while the group prepares to rebalance).
              if (stop.signal.aborted) throw stop.signal.reason
              // Resolving moves the fetch position; committing makes it survive a restart.
              resolveOffset(offset.toString())
              await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: String(offset + 1n) },
              ])
            },
          })
          const settled = handled.then(
            () => {},
            () => {},
          )
          inFlight.add(settled)
          try {
            await handled
          } finally {
            clearInterval(beat)
            inFlight.delete(settled)
          }
          // A failed heartbeat (a rebalance) goes back to kafkajs, which rejoins the group.
          if (lost) throw lost
        },
      })
    },
    pause: () => consumer.pause([{ topic }]),
    resume: () => consumer.resume([{ topic }]),
    crashed,
    async stop() {
      // kafkajs drops commits once it is disconnecting: let the batches in flight finish and
      // commit first, then leave the group.
      stopping = true
      await Promise.all(inFlight)
      await consumer.disconnect()
    },
  }
}

export function createKafkajsClient(config: KafkaSettings, logger: AppLogger): KafkaClient {
  const kafka = new Kafka(clientConfig(config, logger))
  return {
    async producer(options?: ProducerOptions): Promise<Producer> {
      const budget = options && sendBudget(options)
      // kafkajs sets the request timeout per client: a bounded producer gets a client of its own.
      const owner = budget
        ? new Kafka({ ...clientConfig(config, logger), requestTimeout: budget.requestTimeoutMs })
        : kafka
      const producer = owner.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
        ...(budget && {
          retry: {
            retries: budget.retries,
            initialRetryTime: budget.retryDelayMs,
            maxRetryTime: budget.retryDelayMs,
          },
        }),
      })
      await producer.connect()
      return {
        async send(batches) {
          try {
            await producer.sendBatch({
              topicMessages: batches,
              acks: -1,
              ...(budget && { timeout: budget.ackTimeoutMs }),
            })
          } catch (error) {
            throw asRefusal(error) ?? error
          }
        },
        disconnect: () => producer.disconnect(),
      }
    },
    async consumer(options) {
      const consumer = kafka.consumer({
        groupId: options.group,
        maxBytesPerPartition: 2 * 1024 * 1024,
        // With every partition paused, kafkajs sleeps this long before it looks again, so a
        // resume took up to its 5 s default to show. A fetch with data answers at once anyway.
        maxWaitTimeInMs: 1_000,
        // kafkajs would restart itself after any failure, forever and unseen; the subscriber
        // runner replaces a client that gave up, with back-off, counted, and tells liveness.
        retry: { ...clientRetry, restartOnFailure: async () => false },
      })
      await consumer.connect()
      return wrapConsumer(consumer, options)
    },
    async admin(): Promise<Admin> {
      const admin = kafka.admin()
      await admin.connect()
      /** Each partition's earliest retained and log-end offsets. */
      const partitionOffsets = async (topic: string) =>
        (await admin.fetchTopicOffsets(topic))
          .map(({ partition, low, high }) => ({ partition, start: Number(low), end: Number(high) }))
          .toSorted((a, b) => a.partition - b.partition)
      return {
        async ensureTopics(topics) {
          const existing = new Set(await admin.listTopics())
          const missing = topics.filter((topic) => !existing.has(topic.name))
          if (missing.length === 0) return
          await admin.createTopics({
            waitForLeaders: true,
            topics: missing.map((topic) => ({
              topic: topic.name,
              numPartitions: topic.partitions,
              replicationFactor: topic.replicationFactor,
              configEntries: Object.entries(topic.config ?? {}).map(([name, value]) => ({
                name,
                value,
              })),
            })),
          })
        },
        async deleteTopics(names) {
          await admin.deleteTopics({ topics: names })
        },
        async ping() {
          await admin.describeCluster()
        },
        async lag(group, topic) {
          const [offsets, [committed]] = await Promise.all([
            partitionOffsets(topic),
            admin.fetchOffsets({ groupId: group, topics: [topic] }),
          ])
          return offsets.map(({ partition, start, end }) => {
            const stored = committed?.partitions.find((p) => p.partition === partition)?.offset
            // No commit yet: the group starts from the beginning, so everything retained is lag.
            const next = stored === undefined || stored === '-1' ? start : Number(stored)
            return { partition, committed: next, end, lag: Math.max(0, end - next) }
          })
        },
        offsets: partitionOffsets,
        async members(group, topic) {
          const {
            groups: [described],
          } = await admin.describeGroups([group])
          return (described?.members ?? []).map((member) => {
            const assignment =
              member.memberAssignment.length > 0
                ? AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
                : null
            return {
              id: member.memberId,
              clientId: member.clientId,
              host: member.clientHost,
              partitions: [...(assignment?.assignment[topic] ?? [])].sort((a, b) => a - b),
            }
          })
        },
        disconnect: () => admin.disconnect(),
      }
    },
  }
}
