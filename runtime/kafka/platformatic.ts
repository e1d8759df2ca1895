/**
 * The Kafka port on @platformatic/kafka, with KIP-848's consumer group protocol: the broker
 * assigns the partitions and moves only those that change owner, so a member joining or leaving
 * does not stop the others.
 */
import { readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type BaseOptions,
  type Connection,
  compatibilityPartitioner,
  consumerGroupDescribeV0,
  FindCoordinatorKeyTypes,
  findErrorBy,
  instancesChannel,
  Admin as KafkaAdmin,
  Consumer as KafkaConsumer,
  Producer as KafkaProducer,
  ListOffsetTimestamps,
  type Message,
  type MessagesStream,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
} from '@platformatic/kafka'
import pTimeout from 'p-timeout'
import type { KafkaSettings } from '../config.ts'
import type { AppLogger } from '../logger.ts'
import type {
  Admin,
  Consumer,
  ConsumerOptions,
  IncomingMessage,
  KafkaClient,
  PartitionBatch,
  Producer,
  ProducerOptions,
} from './client.ts'
import { refusalsByKafkaError, SendRefusedError, sendBudget } from './client.ts'
import { createPartitionScheduler, type ScheduledBatch } from './partition-scheduler.ts'

// A connection reset while it authenticates makes the library emit 'error' twice on it (the
// socket's error, then the failed SASL handshake), after its one-time listeners are gone: unheard,
// the second ends the process (a broker's port that resets, as a proxy does when its broker is
// down). The operation that used the connection gets the error in its callback either way.
instancesChannel.subscribe((message) => {
  const { type, instance } = message as { type: string; instance: unknown }
  if (type === 'connection') (instance as Connection).on('error', () => {})
})

/** Null keys and values arrive as undefined. */
type Fetched = Message<Buffer | undefined, Buffer | undefined, Buffer, Buffer | undefined>
type Stream = MessagesStream<Buffer | undefined, Buffer | undefined, Buffer, Buffer | undefined>
type Handler = (batch: PartitionBatch) => Promise<void>

const maxBytesPerPartition = 2 * 1024 * 1024
const maxBytes = 10 * 1024 * 1024
/** Fetched messages waiting for their partition's turn; past this the stream is not read. */
const maxQueuedBytes = maxBytes

function clientOptions(config: KafkaSettings): BaseOptions {
  const tls = config.KAFKA_SSL
    ? config.KAFKA_CA_FILE
      ? { ca: [readFileSync(config.KAFKA_CA_FILE, 'utf8')] }
      : {}
    : undefined
  return {
    clientId: config.KAFKA_CLIENT_ID,
    bootstrapBrokers: config.KAFKA_BROKERS,
    ...(tls && { tls }),
    ...(config.KAFKA_SASL_MECHANISM === 'scram-sha-512' && {
      sasl: {
        mechanism: 'SCRAM-SHA-512',
        username: config.KAFKA_USERNAME ?? '',
        password: config.KAFKA_PASSWORD ?? '',
      },
    }),
    connectTimeout: 3_000,
    requestTimeout: 10_000,
    // Short retries: callers decide what an outage means (503 for the API, back-off for consumers).
    retries: 5,
    retryDelay: (_client, _operation, attempt) => Math.min(2_000, 100 * 2 ** attempt),
  }
}

/** Retrying may help unless the library marked an error in the chain as final (bad credentials). */
function retriable(error: unknown): boolean {
  return !(error instanceof Error && findErrorBy(error, 'canRetry', false))
}

/**
 * The broker no longer knows the member (its session expired during an outage). The library
 * keeps heartbeating with the old member id for ever, so only a new client gets back in.
 */
function membershipLost(error: unknown): boolean {
  return error instanceof Error && findErrorBy(error, 'unknownMemberId', true) !== null
}

/** The refusal among the broker's answers in the library's error (one per partition). */
function asRefusal(error: unknown): SendRefusedError | undefined {
  if (!(error instanceof Error)) return undefined
  for (const [apiId, refusal] of Object.entries(refusalsByKafkaError)) {
    if (findErrorBy(error, 'apiId', apiId)) return new SendRefusedError(refusal, error)
  }
  return undefined
}

function toIncoming(message: Fetched): IncomingMessage {
  const headers: { [name: string]: string } = {}
  // The first of repeated headers wins, as with kafkajs.
  for (const [name, value] of message.headerEntries) {
    const key = name.toString('utf8')
    if (value !== undefined && !Object.hasOwn(headers, key)) headers[key] = value.toString('utf8')
  }
  return {
    key: message.key ?? null,
    value: message.value ?? null,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    headers,
  }
}

/** How long a producer without a send budget (the dead letters') may take to connect. */
const producerConnectTimeoutMs = 30_000

async function createProducer(options: BaseOptions, bounds?: ProducerOptions): Promise<Producer> {
  let keyless = 0
  const budget = bounds && sendBudget(bounds)
  const producer = new KafkaProducer<Buffer | undefined, Buffer, Buffer, Buffer>({
    ...options,
    ...(budget && {
      requestTimeout: budget.requestTimeoutMs,
      timeout: budget.ackTimeoutMs,
      retries: budget.retries,
      retryDelay: budget.retryDelayMs,
    }),
    idempotent: true,
    acks: ProduceAcks.ALL,
    maxInflights: 1,
    // Keys land where Kafka's Java client and kafkajs put them (the library's default differs
    // for half of all keys), so switching adapters keeps each key on its partition. Keyless
    // messages rotate: the compatible partitioner alone would put them all on partition 0.
    partitioner: (message, key) => (key ? compatibilityPartitioner(message, key) : keyless++),
  })
  // Connects and gets the producer id now, so a broker that is down fails here, not later. The
  // library retries a refused bootstrap connection without end (its `retries` apart), so the
  // attempt gets a deadline: the send's budget.
  const connectWithinMs = bounds?.sendTimeoutMs ?? producerConnectTimeoutMs
  try {
    await pTimeout(producer.initIdempotentProducer({}), {
      milliseconds: connectWithinMs,
      message: `no connection to Kafka within ${connectWithinMs} ms`,
    })
  } catch (error) {
    await producer.close(true)
    throw error
  }
  return {
    async send(batches) {
      await producer
        .send({
          messages: batches.flatMap(({ topic, messages }) =>
            messages.map(({ key, value, headers }) => ({
              topic,
              key: key === null ? undefined : Buffer.from(key),
              value: typeof value === 'string' ? Buffer.from(value) : value,
              headers: new Map(
                Object.entries(headers ?? {}).map(([name, text]) => [
                  Buffer.from(name),
                  Buffer.from(text),
                ]),
              ),
            })),
          ),
        })
        .catch((error: unknown) => {
          throw asRefusal(error) ?? error
        })
    },
    disconnect: () => producer.close(),
  }
}

/**
 * The library hands out single messages from one stream over every assigned partition; the
 * partition scheduler regroups them into batches, and this watches the assignment. When a
 * partition is lost, or a batch or the stream fails, the stream is replaced by a new one that
 * reads from the committed offsets: the library would otherwise go on from what it had fetched,
 * skipping what was fetched but never handled. A member the broker dropped is replaced by a new
 * client.
 */
function createConsumer(
  options: BaseOptions,
  { group, topic, concurrency }: ConsumerOptions,
  logger: AppLogger,
): Consumer {
  const log = logger.child({ component: 'platformatic-kafka', group, topic })
  function join() {
    const joined = new KafkaConsumer<
      Buffer | undefined,
      Buffer | undefined,
      Buffer,
      Buffer | undefined
    >({
      ...options,
      groupId: group,
      groupProtocol: 'consumer',
      // The time a member has to give up a revoked partition, as kafkajs's default.
      rebalanceTimeout: 60_000,
      autocommit: false,
      maxBytes,
      maxBytesPerPartition,
    })
    joined.on('consumer:heartbeat:end', pump)
    joined.on('consumer:heartbeat:error', ({ error }) => {
      if (membershipLost(error)) rejoin(error)
      else log.warn({ err: error }, 'consumer group heartbeat failed')
    })
    joined.on('error', fail)
    return joined
  }
  const streamOptions = {
    topics: [topic],
    mode: MessagesStreamModes.COMMITTED,
    fallbackMode: MessagesStreamFallbackModes.EARLIEST,
  }
  const halt = new AbortController()
  const crash = Promise.withResolvers<Error>()
  let handle: Handler | undefined
  let stream: Stream | undefined
  let restarting = false
  /** The broker dropped this member: the next restart replaces the client, as it cannot rejoin. */
  let renew = false
  let failures = 0
  let stopped: Promise<void> | undefined
  const batches = createPartitionScheduler<Fetched>({
    concurrency,
    maxQueuedBytes,
    sizeOf: (message) => message.value?.length ?? 0,
    handle: deliver,
    onFailure(error, partition) {
      log.error({ err: error, partition }, 'batch failed; its partition is read again')
      void restart(backoff())
    },
    onSettled: pump,
  })
  let kafka = join()

  function fail(error: Error) {
    if (halt.signal.aborted) return
    log.error({ err: error }, 'Kafka consumer gave up')
    halt.abort(error)
    batches.abort(error)
    crash.resolve(error)
  }

  function backoff(): number {
    return Math.min(30_000, 500 * 2 ** failures++)
  }

  function assigned(): Set<number> {
    return new Set(kafka.assignments?.find((assignment) => assignment.topic === topic)?.partitions)
  }

  function release(partition: number) {
    batches.release(partition, new Error(`partition ${partition} of ${topic} was reassigned`))
  }

  /** Reconciles the assignment, reads what the stream holds, and hands out batches. */
  function pump() {
    if (!handle || halt.signal.aborted) return
    const owned = assigned()
    const lost = batches.held().filter((partition) => !owned.has(partition))
    if (lost.length > 0) {
      for (const partition of lost) release(partition)
      log.info({ partitions: lost }, 'partitions reassigned')
      // The stream may still hold what it fetched of them, and would resume from there later.
      void restart(0)
    }
    while (stream && !batches.paused && batches.hasRoom) {
      const message: Fetched | null = stream.read()
      if (message === null) break
      // Fetched before the partition was lost: its new owner reads it.
      if (owned.has(message.partition)) batches.enqueue(message)
    }
    batches.dispatch()
  }

  async function deliver({ partition, messages, signal }: ScheduledBatch<Fetched>) {
    await handle?.({
      topic,
      partition,
      messages: messages.map(toIncoming),
      signal,
      async commitThrough(offset) {
        // The new owner commits this partition now; a late commit here would overwrite theirs.
        signal.throwIfAborted()
        const leaderEpoch = messages.find((message) => message.offset === offset)?.leaderEpoch
        await kafka.commit({
          offsets: [{ topic, partition, offset: offset + 1n, leaderEpoch: leaderEpoch ?? -1 }],
        })
      },
    })
    failures = 0
  }

  /** Opens a stream at the committed offsets and makes it the one read. */
  async function open() {
    const opened = await kafka.consume(streamOptions)
    if (batches.paused) opened.pause()
    opened.on('readable', pump)
    opened.on('error', (error) => {
      if (opened !== stream) return
      if (membershipLost(error)) return rejoin(error)
      if (!retriable(error)) return fail(error)
      log.warn({ err: error }, 'Kafka fetch failed; reading again from the committed offsets')
      void restart(backoff())
    })
    stream = opened
  }

  /** Replaces the stream (and the client, when the broker dropped it) after `delayMs`. */
  async function restart(delayMs: number) {
    if (restarting || halt.signal.aborted) return
    restarting = true
    const previous = stream
    stream = undefined
    previous?.pause()
    try {
      await sleep(delayMs, undefined, { signal: halt.signal })
      if (renew) {
        renew = false
        for (const partition of batches.held()) release(partition)
        const dropped = kafka
        kafka = join()
        await dropped.close(true).catch((error: unknown) => log.warn({ err: error }, 'close'))
      }
      // Opened before the previous one closes, so the group subscription never lapses.
      await open()
    } catch (error) {
      if (halt.signal.aborted) return
      if (membershipLost(error)) renew = true
      else if (!retriable(error)) fail(error as Error)
    } finally {
      restarting = false
    }
    await previous?.close().catch((error: unknown) => log.warn({ err: error }, 'stream close'))
    if (stream) pump()
    else if (!halt.signal.aborted) void restart(backoff())
  }

  function rejoin(error: Error) {
    log.warn({ err: error }, 'the group dropped this member; joining again')
    renew = true
    void restart(0)
  }

  return {
    async start(onBatch) {
      handle = onBatch
      await open()
      pump()
    },
    pause() {
      batches.pause()
      stream?.pause()
    },
    resume() {
      batches.resume()
      stream?.resume()
      pump()
    },
    crashed: crash.promise,
    stop() {
      stopped ??= (async () => {
        // No new batch starts; those in flight finish and their commits land (their signals
        // stay unaborted: only a lost partition aborts one).
        halt.abort(new Error('consumer stopping'))
        await batches.stop()
        // Closes the stream and leaves the group, so its partitions move at once.
        await kafka.close(true)
      })()
      return stopped
    },
  }
}

function createAdmin(options: BaseOptions): Admin {
  const admin = new KafkaAdmin(options)
  /** Each partition's earliest retained and log-end offsets. */
  const partitionOffsets = async (topic: string) => {
    const metadata = await admin.metadata({ topics: [topic] })
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    const indexes = Array.from({ length: count }, (_, index) => index)
    const offsetsAt = async (timestamp: bigint) => {
      const [listed] = await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })),
          },
        ],
      })
      return new Map(listed?.partitions.map((p) => [p.partitionIndex, p.offset]))
    }
    const [starts, ends] = await Promise.all([
      offsetsAt(ListOffsetTimestamps.EARLIEST),
      offsetsAt(ListOffsetTimestamps.LATEST),
    ])
    return indexes.map((partition) => ({
      partition,
      start: Number(starts.get(partition) ?? 0n),
      end: Number(ends.get(partition) ?? 0n),
    }))
  }
  return {
    async ensureTopics(topics) {
      const existing = new Set(await admin.listTopics())
      await Promise.all(
        topics
          .filter((spec) => !existing.has(spec.name))
          .map(async (spec) => {
            try {
              await admin.createTopics({
                topics: [
                  {
                    topic: spec.name,
                    partitions: spec.partitions,
                    replicas: spec.replicationFactor,
                  },
                ],
                configs: Object.entries(spec.config ?? {}).map(([name, value]) => ({
                  name,
                  value,
                })),
              })
            } catch (error) {
              // Created by someone else since the listing: what was wanted.
              if (!findErrorBy(error as Error, 'apiId', 'TOPIC_ALREADY_EXISTS')) throw error
            }
          }),
      )
    },
    async deleteTopics(names) {
      await admin.deleteTopics({ topics: names })
    },
    async ping() {
      // One attempt: a readiness probe asks again by itself.
      await admin.metadata({ topics: [], forceUpdate: true, retries: 0 })
    },
    async lag(group, topic) {
      const offsets = await partitionOffsets(topic)
      const partitionIndexes = offsets.map(({ partition }) => partition)
      const [committed] = await admin.listConsumerGroupOffsets({
        groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes }] }],
      })
      const stored = new Map(
        committed?.topics
          .find((entry) => entry.name === topic)
          ?.partitions.map((p) => [p.partitionIndex, p.committedOffset]),
      )
      return offsets.map(({ partition, start, end }) => {
        const offset = stored.get(partition) ?? -1n
        // No commit yet: the group starts from the beginning, so everything retained is lag.
        const next = offset < 0n ? start : Number(offset)
        return { partition, committed: next, end, lag: Math.max(0, end - next) }
      })
    },
    offsets: partitionOffsets,
    async members(group, topic) {
      // Members of the KIP-848 protocol (this adapter's consumers) are described by the group's
      // coordinator with ConsumerGroupDescribe; DescribeGroups knows only classic members. The
      // Admin has no method for that API (2.12), so it is sent as a raw request on the admin's
      // own connection to the coordinator.
      const [coordinator] = await admin.findCoordinator({
        keyType: FindCoordinatorKeyTypes.GROUP,
        keys: [group],
      })
      if (coordinator) {
        try {
          const connection = await admin.connections.get(coordinator)
          const { groups } = await consumerGroupDescribeV0.api.async(connection, [group], false)
          const described = groups.find((g) => g.groupId === group)
          if (described && described.errorCode === 0 && described.members.length > 0) {
            return described.members.map((member) => ({
              id: member.memberId,
              clientId: member.clientId,
              host: member.clientHost,
              partitions: member.assignment.topicPartitions
                .filter((assigned) => assigned.topicName === topic)
                .flatMap((assigned) => assigned.partitions)
                .sort((a, b) => a - b),
            }))
          }
        } catch {
          // A classic group (kafkajs's consumers) is not found by this API: described below.
        }
      }
      const described = (await admin.describeGroups({ groups: [group] })).get(group)
      return [...(described?.members.values() ?? [])].map((member) => ({
        id: member.id,
        clientId: member.clientId,
        host: member.clientHost,
        partitions: [...(member.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b),
      }))
    },
    disconnect: () => admin.close(),
  }
}

export function createPlatformaticClient(config: KafkaSettings, logger: AppLogger): KafkaClient {
  const options = clientOptions(config)
  return {
    producer: (bounds) => createProducer(options, bounds),
    consumer: async (consumerOptions) => createConsumer(options, consumerOptions, logger),
    admin: async () => createAdmin(options),
  }
}
