/**
 * One entry for every role: `ROLE=api` serves HTTP, `ROLE=consumer` runs the subscribers (and
 * serves health and metrics), `ROLE=all` does both in one process.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import type { Ports } from '../handlers/define.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { createElasticsearchClient, createElasticsearchStore } from './elasticsearch/store.ts'
import { loadRoutes, loadSubscribers } from './handlers.ts'
import { createHttpApp } from './http/app.ts'
import { consumerControlRoutes } from './http/consumer-control.ts'
import { createKafkaBroker } from './kafka/kafkajs.ts'
import { createPublisher } from './kafka/publisher.ts'
import { createSubscriberRunner, type SubscriberRunner } from './kafka/subscriber-runner.ts'
import { type AppLogger, createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { lazy, retryUntil } from './retry.ts'

const retryAfterSeconds = 2
const shutdownTimeoutMs = 25_000

function packageVersion(): string {
  for (const up of ['..', '../..']) {
    try {
      return JSON.parse(readFileSync(join(import.meta.dirname, up, 'package.json'), 'utf8')).version
    } catch {}
  }
  return 'unknown'
}

export interface RunningApp {
  /** The port the HTTP server listens on (useful with PORT=0). */
  port: number
  runners: SubscriberRunner[]
  stop(): Promise<void>
}

/** Starts the roles `config` asks for; resolves once the HTTP server listens. */
export async function startApp(config: Config, logger: AppLogger): Promise<RunningApp> {
  const topics = { purchases: config.KAFKA_TOPIC }
  const broker = createKafkaBroker(config, logger)
  const store = createElasticsearchStore(
    createElasticsearchClient(
      config,
      config.ROLE === 'api' ? { requestTimeoutMs: 3_000, maxRetries: 0 } : undefined,
    ),
    config.ELASTICSEARCH_INDEX,
  )
  const admin = lazy(() => broker.admin())
  const metrics = createMetrics({
    ...(config.ROLE !== 'api' && {
      lag: async () =>
        (await (await admin()).lag(config.KAFKA_CONSUMER_GROUP, config.KAFKA_TOPIC)).map(
          (reading) => ({
            ...reading,
            topic: config.KAFKA_TOPIC,
          }),
        ),
    }),
  })
  const publisher = createPublisher(
    () => broker.producer(),
    {
      topics,
      lingerMs: config.PUBLISH_LINGER_MS,
      maxBatch: config.PUBLISH_MAX_BATCH,
      timeoutMs: config.PUBLISH_TIMEOUT_MS,
      retryAfterSeconds,
      maxPending: config.PUBLISH_MAX_PENDING,
    },
    metrics,
    logger,
  )
  const ports: Ports = {
    publish: publisher.publish,
    store,
    clock: { now: () => new Date() },
    logger,
  }
  const stopping = new AbortController()
  const retryLog = (what: string) => (error: unknown, attempt: number) =>
    logger.warn({ err: error, attempt }, `${what} failed, retrying`)

  const runners: SubscriberRunner[] = []
  const consumersStarted = (async () => {
    if (config.ROLE === 'api') return
    for (const subscriber of await loadSubscribers()) {
      const [consumer, deadLetters] = await retryUntil(
        () =>
          Promise.all([
            broker.consumer(config.KAFKA_CONSUMER_GROUP, {
              concurrency: config.CONSUMER_CONCURRENCY,
            }),
            broker.producer(),
          ]),
        retryLog('Kafka consumer connection'),
        stopping.signal,
      )
      const runner = createSubscriberRunner(
        subscriber,
        consumer,
        deadLetters,
        ports,
        {
          topic: topics[subscriber.topic],
          deadLetterTopic: config.KAFKA_DEAD_LETTER_TOPIC,
          maxDocuments: config.BULK_MAX_DOCUMENTS,
          maxBytes: config.BULK_MAX_BYTES,
          backoff: { initialMs: 250, maxMs: 30_000 },
        },
        metrics,
        logger,
      )
      runners.push(runner)
      await runner.start()
      logger.info(
        { topic: topics[subscriber.topic], group: config.KAFKA_CONSUMER_GROUP },
        'consuming',
      )
    }
  })()
  consumersStarted.catch((error) => {
    if (!stopping.signal.aborted) logger.error({ err: error }, 'consumer failed to start')
  })

  const app = createHttpApp({
    routes: config.ROLE === 'consumer' ? [] : await loadRoutes(),
    ports,
    // An API pod stays ready while Kafka takes purchases, whatever Elasticsearch does: that is
    // the queue's point. A consumer needs both to do its work.
    readiness: {
      kafka: { required: true, check: async () => (await admin()).ping() },
      elasticsearch: { required: config.ROLE !== 'api', check: () => store.ping() },
    },
    metrics,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    retryAfterSeconds,
    version: packageVersion(),
  })

  if (config.CONSUMER_CONTROL && config.ROLE !== 'api')
    app.route('/', consumerControlRoutes(runners))

  const { promise: listening, resolve } = Promise.withResolvers<number>()
  const server = serve({ fetch: app.fetch, hostname: config.HOST, port: config.PORT }, (info) =>
    resolve(info.port),
  )
  const port = await listening
  logger.info({ port }, 'listening')

  return {
    port,
    runners,
    async stop() {
      stopping.abort()
      // Stop taking requests, let the consumers finish and commit their batch, then flush.
      await new Promise<void>((done) => server.close(() => done()))
      await consumersStarted.catch(() => {})
      await Promise.all(runners.map((runner) => runner.stop()))
      await publisher.close()
      await (await admin().catch(() => undefined))?.disconnect()
      await store.close()
    },
  }
}

/**
 * `ROLE=setup`: puts the index template and creates the index, then exits. A one-off job with
 * its own identity does this (a Job in the chart), so neither the API nor the consumer needs the
 * privilege to change templates. It waits for Elasticsearch to come up.
 */
export async function setUpStore(config: Config, logger: AppLogger): Promise<void> {
  const store = createElasticsearchStore(
    createElasticsearchClient(config),
    config.ELASTICSEARCH_INDEX,
  )
  try {
    await retryUntil(
      () => store.setup(),
      (error, attempt) => logger.warn({ err: error, attempt }, 'store setup failed, retrying'),
      AbortSignal.timeout(10 * 60_000),
    )
    logger.info({ index: config.ELASTICSEARCH_INDEX }, 'index template and index in place')
  } finally {
    await store.close()
  }
}

async function main(): Promise<void> {
  let config: Config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    process.exit(2)
  }
  const logger = createLogger(config.LOG_LEVEL, config.ROLE)
  if (config.ROLE === 'setup') {
    await setUpStore(config, logger)
    process.exit(0)
  }
  const app = await startApp(config, logger)
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    setTimeout(() => {
      logger.error('shutdown timed out')
      process.exit(1)
    }, shutdownTimeoutMs).unref()
    app.stop().then(
      () => {
        logger.info('stopped')
        process.exit(0)
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

if (import.meta.main) await main()
