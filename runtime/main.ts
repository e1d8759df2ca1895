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
import { liveAssetsDir, livePageRoutes } from './http/live-page.ts'
import { serveHttp } from './http/server.ts'
import { createKafkaClient } from './kafka/index.ts'
import { createPublisher } from './kafka/publisher.ts'
import { createSubscriberRunner, type SubscriberRunner } from './kafka/subscriber-runner.ts'
import { lazy } from './lazy.ts'
import { followConsumerCommands } from './live/consumer-commands.ts'
import { createDemo } from './live/demo.ts'
import { createQueueView } from './live/queue-view.ts'
import { loadRoutes, loadSubscribers } from './load-handlers.ts'
import { type AppLogger, createLogger } from './logger.ts'
import { createMetrics } from './metrics.ts'
import { retry, untilStopped } from './retry.ts'

const retryAfterSeconds = 2
const shutdownTimeoutMs = 25_000
/** Members a consumer process adds to its group on the live page's command, at most. */
const maxExtraMembers = 3

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
  const declared = await loadSubscribers()
  const subscribers = config.ROLE === 'api' ? [] : declared
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
  // The live page watches the purchases subscriber: its topic, group and dead letters.
  const watched = declared.find((subscriber) => subscriber.topic === 'purchases')
  const queue = createQueueView(
    kafka,
    admin,
    {
      namePrefix: config.KAFKA_NAME_PREFIX,
      topic: 'purchases',
      group: watched?.group ?? 'purchases-indexer',
      deadLetter: watched?.deadLetter ?? 'purchases.dead-letter',
    },
    logger,
  )
  let postPurchase: (body: unknown) => Promise<number> = async () => 503
  const demo = createDemo({
    post: (purchase) => postPurchase(purchase),
    store,
    canaryIntervalMs:
      config.ROLE !== 'consumer' && config.LIVE_PAGE ? config.CANARY_INTERVAL_MS : 0,
    freshness: metrics.canaryFreshness,
    logger,
  })
  const ports: Ports = {
    publish: publisher.publish,
    store,
    clock: { now: () => new Date() },
    queue,
    demo,
  }
  const runnerFor = (subscriber: (typeof subscribers)[number]) =>
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
    )
  runners = subscribers.map(runnerFor)

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

  // The live page's consumer commands: pause and resume every member here, or add one more
  // member of each subscriber's group (another consumer in the group, in this process).
  const extraMembers: SubscriberRunner[][] = []
  const obey = (command: 'pause' | 'resume' | 'add' | 'remove') => {
    const all = [...joined, ...extraMembers.flat()]
    if (command === 'pause') for (const runner of all) runner.pause()
    if (command === 'resume') for (const runner of all) runner.resume()
    if (command === 'add' && extraMembers.length < maxExtraMembers) {
      const members = subscribers.map(runnerFor)
      extraMembers.push(members)
      const paused = joined.some((runner) => runner.paused)
      for (const member of members) {
        if (paused) member.pause()
        member.start(stopping.signal).catch((error: unknown) => {
          if (!stopping.signal.aborted) logger.error({ err: error }, 'extra member failed')
        })
      }
    }
    if (command === 'remove') {
      for (const member of extraMembers.pop() ?? []) void member.stop()
    }
  }
  const commands =
    config.ROLE === 'api'
      ? undefined
      : followConsumerCommands(kafka, config.KAFKA_NAME_PREFIX, obey, logger)

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
    livePage: config.LIVE_PAGE,
    ...(config.DEMO_CONTROLS && { controlToken: config.DEMO_CONTROL_TOKEN }),
    onAnswered: ({ method, route, status, seconds }) => {
      if (method === 'POST' && route === '/purchases' && status < 500) {
        demo.recordPurchaseLatency(seconds)
      }
    },
    retryAfterSeconds,
    version: packageVersion(),
  })
  postPurchase = async (purchase) => {
    const response = await app.request('/purchases', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(purchase),
    })
    await response.body?.cancel()
    return response.status
  }

  if (config.DEMO_CONTROLS && config.DEMO_CONTROL_TOKEN && config.ROLE !== 'api') {
    app.route('/', consumerControlRoutes(joined, config.DEMO_CONTROL_TOKEN))
  }
  if (config.LIVE_PAGE && config.ROLE !== 'consumer') {
    const assetsDir = liveAssetsDir()
    if (assetsDir) {
      app.route(
        '/',
        livePageRoutes({
          snapshot: async () => app.request('/live/snapshot'),
          assetsDir,
          signal: stopping.signal,
        }),
      )
    } else {
      logger.warn('the live page is not built (npm run build): / is not served')
    }
  }

  const { server, port } = await serveHttp(app, config, logger)
  logger.info({ port }, 'listening')

  return {
    port,
    async stop() {
      stopping.abort()
      // Stop taking requests and consuming (a chunk in flight is finished; what was not
      // committed is read again by the next consumer), then flush what waits to be published.
      // Under load, kept-alive connections are never idle all at once, and close() waits for
      // them: each now answers its request in hand with `Connection: close`, then ends.
      server.on('request', (_request, response) => response.setHeader('connection', 'close'))
      const closed = new Promise<void>((done) => server.close(() => done()))
      server.closeIdleConnections()
      await closed
      await consumersStarted.catch(() => {})
      demo.stop()
      await commands?.stop()
      await Promise.all([...runners, ...extraMembers.flat()].map((runner) => runner.stop()))
      await queue.stop()
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
