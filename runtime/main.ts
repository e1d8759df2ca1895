/**
 * One entry for every role: `ROLE=api` serves HTTP, `ROLE=consumer` runs the subscribers (and
 * serves health and metrics), `ROLE=all` does both in one process (with a user allowed both),
 * `ROLE=setup` puts the store's index template and index, then exits.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Ports } from '../handlers/ports.ts'
import { type Config, ConfigError, loadConfig } from './config.ts'
import { createElasticsearchClient, createElasticsearchStore } from './elasticsearch/store.ts'
import { createHttpApp } from './http/app.ts'
import { consumerControlRoutes } from './http/consumer-control.ts'
import { serveHttp } from './http/server.ts'
import { createKafkaClient } from './kafka/index.ts'
import { createPublisher } from './kafka/publisher.ts'
import { createSubscriberRunner, type SubscriberRunner } from './kafka/subscriber-runner.ts'
import { lazy } from './lazy.ts'
import { loadRoutes, loadSubscribers } from './load-handlers.ts'
import { type AppLogger, createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { retry, untilStopped } from './retry.ts'

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
  stop(): Promise<void>
}

/** Starts the roles `config` asks for; resolves once the HTTP server listens. */
export async function startApp(config: Config, logger: AppLogger): Promise<RunningApp> {
  const kafka = createKafkaClient(config, logger)
  const store = createElasticsearchStore(
    createElasticsearchClient(
      config,
      config.ROLE === 'api' ? { requestTimeoutMs: 3_000, maxRetries: 0 } : undefined,
    ),
    config.ELASTICSEARCH_INDEX,
  )
  const admin = lazy(() => kafka.admin())
  const stopping = new AbortController()
  const subscribers = config.ROLE === 'api' ? [] : await loadSubscribers()
  let runners: SubscriberRunner[] = []
  const metrics = createMetrics({
    ...(subscribers.length > 0 && {
      lag: async () => {
        const client = await admin()
        const readings = await Promise.all(
          runners.map(async ({ topic, group }) =>
            (await client.lag(group, topic)).map((reading) => ({ ...reading, topic, group })),
          ),
        )
        return readings.flat()
      },
    }),
  })
  const publisher = createPublisher(
    () => kafka.producer({ sendTimeoutMs: config.PUBLISH_TIMEOUT_MS }),
    {
      namePrefix: config.KAFKA_NAME_PREFIX,
      lingerMs: config.PUBLISH_LINGER_MS,
      maxBatch: config.PUBLISH_MAX_BATCH,
      timeoutMs: config.PUBLISH_TIMEOUT_MS,
      retryAfterSeconds,
      maxPending: config.PUBLISH_MAX_PENDING,
    },
    metrics,
    logger,
  )
  const ports: Ports = { publish: publisher.publish, store, clock: { now: () => new Date() } }
  runners = subscribers.map((subscriber) =>
    createSubscriberRunner(
      subscriber,
      kafka,
      ports,
      {
        namePrefix: config.KAFKA_NAME_PREFIX,
        concurrency: config.CONSUMER_CONCURRENCY,
        maxDocuments: config.BULK_MAX_DOCUMENTS,
        maxBytes: config.BULK_MAX_BYTES,
        maxRestarts: config.CONSUMER_MAX_RESTARTS,
      },
      metrics,
      logger,
    ),
  )

  // The index template and the index are the setup's (ROLE=setup, its own identity): until they
  // exist, the consumer's writes are refused and it waits, as for any store outage.
  const joined: SubscriberRunner[] = []
  const consumersStarted = (async () => {
    for (const runner of runners) {
      await runner.start(stopping.signal)
      joined.push(runner)
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
      kafka: {
        required: true,
        check: async () => {
          // A broker that answers is not enough: with two of three nodes gone it still does,
          // while no write can be acknowledged.
          const refusal = publisher.refusal()
          if (refusal) throw new Error(refusal)
          await (await admin()).ping()
        },
      },
      elasticsearch: { required: config.ROLE !== 'api', check: () => store.ping() },
    },
    // A consumer that keeps giving up is beyond this process: Kubernetes restarts the pod.
    liveness: () => {
      const down = runners.find((runner) => runner.down)
      return down && `the consumer of ${down.topic} in ${down.group} is down: ${down.down?.message}`
    },
    metrics,
    logger,
    maxBodyBytes: config.MAX_BODY_BYTES,
    retryAfterSeconds,
    version: packageVersion(),
  })

  if (config.CONSUMER_CONTROL && config.ROLE !== 'api') {
    app.route('/', consumerControlRoutes(joined))
  }

  const { server, port } = await serveHttp(app, config, logger)
  logger.info({ port }, 'listening')

  return {
    port,
    async stop() {
      stopping.abort()
      // Stop taking requests and consuming (a chunk in flight is finished; what was not
      // committed is read again by the next consumer), then flush what waits to be published.
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
    await retry(() => store.setup(), {
      policy: untilStopped,
      signal: AbortSignal.timeout(10 * 60_000),
      onRetry: (error, attempt) =>
        logger.warn({ err: error, attempt }, 'index template setup failed, retrying'),
    })
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
